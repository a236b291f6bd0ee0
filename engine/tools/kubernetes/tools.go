//go:build tools

// Package tools pins the Kubernetes resource provider plugin the engine layer
// runs; build.sh builds it.
package tools

import _ "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
