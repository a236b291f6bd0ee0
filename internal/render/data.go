package render

import (
	"slices"
	"strings"

	"github.com/edw-project/edw/components/queue"
	"github.com/edw-project/edw/components/store"
)

// dataComponents hold the workload's messages and rows.
var dataComponents = []string{queue.SqsToken, queue.StorageToken, store.DynamoToken, store.TableToken, store.CosmosTableToken}

// dataTypes are the resources in them that hold the data itself (their
// policies and grants do not). Karpenter's interruption queue, outside
// them, holds only events.
var dataTypes = []string{
	"aws:sqs/queue:Queue", "aws:dynamodb/table:Table",
	"azure-native:storage:StorageAccount", "azure-native:storage:Queue", "azure-native:storage:Table",
	"azure-native:documentdb:DatabaseAccount", "azure-native:documentdb:TableResourceTable",
}

// InDataComponent reports whether urn is a data component or one of its
// children.
func InDataComponent(urn string) bool {
	return slices.ContainsFunc(dataComponents, func(c string) bool {
		return strings.Contains(urn, c+"$") || strings.Contains(urn, "::"+c+"::")
	})
}

// HoldsData reports whether the resource of type typ at urn holds the
// workload's messages or rows: replacing or deleting it loses them.
func HoldsData(typ, urn string) bool {
	return slices.Contains(dataTypes, typ) && InDataComponent(urn)
}
