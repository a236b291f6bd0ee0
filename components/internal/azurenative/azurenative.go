// Package azurenative registers azure-native resources whose SDK modules
// the module proxy does not serve (monitor, alertsmanagement, documentdb):
// by type token, at the version of the project's other azure-native
// modules, so that one provider plugin serves them all.
package azurenative

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Version is the azure-native provider of the project's azure-native
// modules in go.mod; a test holds the two together.
const Version = "2.92.3"

// Register registers a resource of azure-native's type token with props,
// at Version.
func Register(ctx *pulumi.Context, token, name string, props pulumi.Input, res pulumi.CustomResource, opts ...pulumi.ResourceOption) error {
	return ctx.RegisterResource(token, name, props, res, append(opts, pulumi.Version(Version))...)
}
