package standin

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsAccount is the account every AWS stand-in deploys to.
const awsAccount = "123456789012"

// awsNamed are the types the AWS provider names when the program does not:
// the input that holds the name and its longest value.
var awsNamed = map[string]struct {
	key string
	max int
}{
	"aws:sqs/queue:Queue":                 {"name", 80},
	"aws:dynamodb/table:Table":            {"name", 255},
	"aws:iam/role:Role":                   {"name", 64},
	"aws:iam/policy:Policy":               {"name", 128},
	"aws:iam/rolePolicy:RolePolicy":       {"name", 128},
	"aws:ecr/repository:Repository":       {"name", 256},
	"aws:eks/cluster:Cluster":             {"name", 100},
	"aws:eks/nodeGroup:NodeGroup":         {"nodeGroupName", 63},
	"aws:ec2/securityGroup:SecurityGroup": {"name", 255},
	"aws:cloudwatch/eventRule:EventRule":  {"name", 64},
	"aws:cloudwatch/logGroup:LogGroup":    {"name", 512},
	"aws:sns/topic:Topic":                 {"name", 256},
	// An alarm's name is its id.
	"aws:cloudwatch/metricAlarm:MetricAlarm": {"name", 255},
}

// awsIDPrefixes are the prefixes of the ids EC2 assigns.
var awsIDPrefixes = map[string]string{
	"aws:ec2/vpc:Vpc":                                     "vpc",
	"aws:ec2/subnet:Subnet":                               "subnet",
	"aws:ec2/securityGroup:SecurityGroup":                 "sg",
	"aws:ec2/securityGroupRule:SecurityGroupRule":         "sgrule",
	"aws:ec2/internetGateway:InternetGateway":             "igw",
	"aws:ec2/natGateway:NatGateway":                       "nat",
	"aws:ec2/eip:Eip":                                     "eipalloc",
	"aws:ec2/routeTable:RouteTable":                       "rtb",
	"aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
	"aws:ec2/launchTemplate:LaunchTemplate":               "lt",
	"aws:amp/workspace:Workspace":                         "ws",
	"aws:amp/scraper:Scraper":                             "s",
}

// aws is one account in the region of the provider's configuration. It
// names, identifies and computes what the program reads: ARNs, queue URLs,
// repository URLs, EC2 ids, the EKS endpoint, security group and OIDC
// issuer; every other resource gets its inputs back and an ARN.
type aws struct {
	region string
}

func (a *aws) configure(setting func(string) string) {
	a.region = cmp.Or(setting("region"), "us-east-1")
}

func (a *aws) nameKey(typ string) string { return awsNamed[typ].key }

// newName is the URN name, a dash and seven hex digits, as the AWS
// provider names.
func (a *aws) newName(typ, urnName string, seed []byte) (string, error) {
	return autonamed(seed, urnName+"-", 7, awsNamed[typ].max, nil)
}

// replaces: AWS cannot rename what the program names.
func (a *aws) replaces(typ, key string) bool { return key != "" && key == a.nameKey(typ) }

func (a *aws) compute(typ, urnName, id string, in, old resource.PropertyMap) (string, resource.PropertyMap, error) {
	if err := checkPolicy(typ, in); err != nil {
		return "", nil, err
	}
	name := str(in, cmp.Or(a.nameKey(typ), "name"))
	if id == "" {
		id = a.newID(typ, urnName, name, in)
	}
	out := map[string]any{"arn": a.arn(typ, id, name, in, old)}
	switch typ {
	case "aws:sqs/queue:Queue":
		out["url"] = a.queueURL(name)
	case "aws:iam/role:Role":
		out["uniqueId"] = cmp.Or(str(old, "uniqueId"), "AROA"+strings.ToUpper(randomHex(17)))
	case "aws:ecr/repository:Repository":
		out["registryId"] = awsAccount
		out["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", awsAccount, a.region, name)
	case "aws:eks/cluster:Cluster":
		for k, v := range a.cluster(in, old) {
			out[k] = v
		}
	case "aws:eks/nodeGroup:NodeGroup":
		out["status"] = "ACTIVE"
	case "aws:amp/workspace:Workspace":
		out["prometheusEndpoint"] = fmt.Sprintf("https://aps-workspaces.%s.amazonaws.com/workspaces/%s/", a.region, id)
	}
	return id, props(out), nil
}

// newID is the id the cloud assigns: EC2's prefixed ids, the queue's URL,
// the name of what AWS identifies by name.
func (a *aws) newID(typ, urnName, name string, in resource.PropertyMap) string {
	if prefix, ok := awsIDPrefixes[typ]; ok {
		return prefix + "-" + randomHex(17)
	}
	switch typ {
	case "aws:sqs/queue:Queue":
		return a.queueURL(name)
	case "aws:eks/nodeGroup:NodeGroup":
		return str(in, "clusterName") + ":" + name
	case "aws:ec2/tag:Tag":
		return str(in, "resourceId") + "," + str(in, "key")
	case "aws:eks/addon:Addon":
		return str(in, "clusterName") + ":" + str(in, "addonName")
	}
	if a.nameKey(typ) != "" {
		return name
	}
	return genericID(urnName)
}

func (a *aws) queueURL(name string) string {
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", a.region, awsAccount, name)
}

// arn is the resource's ARN: the known forms for what the program reads,
// <kind>/<id> for the rest.
func (a *aws) arn(typ, id, name string, in, old resource.PropertyMap) string {
	service, kind := tokenParts(typ)
	region, res := a.region, kebab(kind)+"/"+id
	switch typ {
	case "aws:sqs/queue:Queue":
		res = name
	case "aws:iam/role:Role", "aws:iam/policy:Policy":
		region, res = "", kebab(kind)+"/"+name
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		region, res = "", "oidc-provider/"+strings.TrimPrefix(str(in, "url"), "https://")
	case "aws:cloudwatch/eventRule:EventRule":
		service, res = "events", "rule/"+name
	case "aws:cloudwatch/logGroup:LogGroup":
		service, res = "logs", "log-group:"+name
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		res = "alarm:" + name
	case "aws:sns/topic:Topic":
		res = name
	case "aws:amp/workspace:Workspace":
		service, res = "aps", "workspace/"+id
	case "aws:amp/scraper:Scraper":
		service, res = "aps", "scraper/"+id
	case "aws:dynamodb/table:Table", "aws:ecr/repository:Repository", "aws:eks/cluster:Cluster":
		res = strings.ToLower(kind) + "/" + name
	case "aws:eks/nodeGroup:NodeGroup":
		res = fmt.Sprintf("nodegroup/%s/%s/%s", str(in, "clusterName"), name, cmp.Or(arnTail(str(old, "arn")), randomGUID()))
	}
	if service == "iam" {
		region = ""
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, awsAccount, res)
}

// alsoCreates is what AWS creates on its own with a resource: an EKS
// cluster that sends control-plane logs makes its log group, without
// retention, unless one exists; it is nobody's to delete.
func (a *aws) alsoCreates(typ string, in resource.PropertyMap) []Resource {
	if typ != "aws:eks/cluster:Cluster" || len(strs(in, "enabledClusterLogTypes")) == 0 {
		return nil
	}
	name := "/aws/eks/" + str(in, "name") + "/cluster"
	logs := "aws:cloudwatch/logGroup:LogGroup"
	return []Resource{{
		Type: logs, ID: name,
		Inputs:  map[string]any{"name": name},
		Outputs: map[string]any{"name": name, "arn": a.arn(logs, name, name, nil, nil), "retentionInDays": 0},
	}}
}

// arnTail is the last segment of an ARN's resource, the part AWS makes
// unique.
func arnTail(arn string) string {
	if arn == "" {
		return ""
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}

// cluster is what EKS computes for a cluster: its endpoint, the security
// group it creates for the cluster, and its OIDC issuer, whose id is the
// endpoint's.
func (a *aws) cluster(in, old resource.PropertyMap) map[string]any {
	endpoint := cmp.Or(str(old, "endpoint"), fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(randomHex(32)), a.region))
	clusterID := strings.SplitN(strings.TrimPrefix(endpoint, "https://"), ".", 2)[0]
	vpc := obj(in, "vpcConfig").Copy()
	vpc["clusterSecurityGroupId"] = resource.NewProperty(cmp.Or(str(obj(old, "vpcConfig"), "clusterSecurityGroupId"), "sg-"+randomHex(17)))
	return map[string]any{
		"endpoint":  endpoint,
		"vpcConfig": resource.NewProperty(vpc),
		"identities": []any{map[string]any{"oidcs": []any{map[string]any{
			"issuer": fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", a.region, clusterID),
		}}}},
		"status":          "ACTIVE",
		"platformVersion": "eks.1",
	}
}
