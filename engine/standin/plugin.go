package standin

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// PluginFromPath is the package and version a plugin executable plays,
// from its path: the package from its name (pulumi-resource-<package>),
// the version from the directory `pulumi plugin install` puts it in
// (resource-<package>-v<version>), or "0.0.0" outside one.
func PluginFromPath(path string) (pkg, version string, err error) {
	pkg, ok := strings.CutPrefix(filepath.Base(path), "pulumi-resource-")
	if !ok || !slices.Contains(Packages, pkg) {
		return "", "", fmt.Errorf("%s plays no package: name it pulumi-resource-<package>, one of %s", path, strings.Join(Packages, ", "))
	}
	version, ok = strings.CutPrefix(filepath.Base(filepath.Dir(path)), "resource-"+pkg+"-v")
	if !ok || version == "" {
		version = "0.0.0"
	}
	return pkg, version, nil
}
