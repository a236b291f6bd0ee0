package azurenative

import (
	"os"
	"regexp"
	"testing"
)

// TestVersionIsGoMods holds Version to the version go.mod requires of
// every azure-native module, so one plugin serves both.
func TestVersionIsGoMods(t *testing.T) {
	mod, err := os.ReadFile("../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	required := regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi-azure-native-sdk/(\S+) v(\S+)`).FindAllStringSubmatch(string(mod), -1)
	if len(required) == 0 {
		t.Fatal("go.mod requires no azure-native module")
	}
	for _, r := range required {
		if r[1] == "managedidentity/v2" {
			// Published last at an older version; its own plugin is not
			// loaded for these types.
			continue
		}
		if r[2] != Version {
			t.Errorf("go.mod requires %s at v%s, Version is %s", r[1], r[2], Version)
		}
	}
}
