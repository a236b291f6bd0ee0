// Command edw is the Pulumi program: `pulumi up --stack aws` builds the
// event-driven workload the stack's configuration describes.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/stacks"
)

func main() {
	pulumi.Run(stacks.Run)
}
