package stacks_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests from the project root, where pulumi runs the
// program: Pulumi.yaml, the stack files and apps/ resolve as they do there.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
