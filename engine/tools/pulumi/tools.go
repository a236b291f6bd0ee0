//go:build tools

// Package tools pins the Pulumi CLI the engine layer runs.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
