package standin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The clouds' answers that callers tell apart.
var (
	// ErrNotFound answers a lookup of something the cloud does not have:
	// AWS's ResourceNotFoundException, Azure's ResourceNotFound.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists answers the creation of something whose id (its
	// name, for what is named) is taken: AWS's EntityAlreadyExists, Azure's
	// Conflict.
	ErrAlreadyExists = errors.New("already exists")
)

// cloud is what a stand-in knows of one package: how its provider names
// resources, which changes the cloud cannot make in place, what the cloud
// assigns at creation, and how it answers functions.
type cloud interface {
	// configure takes the provider's configuration; setting returns a
	// key's value ("" when unset).
	configure(setting func(key string) string)
	// nameKey is the input that names a resource of type typ and that the
	// provider fills in at check when the program leaves it out, or ""
	// when the provider names nothing of that type.
	nameKey(typ string) string
	// newName generates that name from the resource's URN name, the way the
	// real provider does; seed makes it the same for a preview and the
	// update that follows.
	newName(typ, urnName string, seed []byte) (string, error)
	// replaces reports whether a change of the top-level input key of a
	// resource of type typ forces its replacement.
	replaces(typ, key string) bool
	// compute returns the id and the outputs the cloud computes for a
	// resource, given its inputs. On create id and old are empty; on update
	// they are the resource's id and previous outputs, and what the cloud
	// assigned once (the id, generated ids and GUIDs) stays.
	compute(typ, urnName, id string, in, old resource.PropertyMap) (string, resource.PropertyMap, error)
	// invoke answers the function tok, looking up the package's live
	// resources in live.
	invoke(tok string, args resource.PropertyMap, live finder) (resource.PropertyMap, error)
}

// creator is a cloud that makes resources of its own when it creates one
// of the program's.
type creator interface {
	// alsoCreates lists what the cloud makes with a resource of type typ
	// and inputs in; it keeps what already exists by their ids.
	alsoCreates(typ string, in resource.PropertyMap) []Resource
}

// refuser is a cloud that refuses some requests for what they refer to
// among its live resources.
type refuser interface {
	// refuses returns the cloud's answer when it refuses to create or
	// update a resource of type typ with inputs in, or nil.
	refuses(typ string, in resource.PropertyMap, live finder) error
}

// finder looks up live resources.
type finder interface {
	find(match func(Resource) bool) (Resource, bool, error)
	// in is the finder of another package's live resources, for a
	// reference that crosses packages: a docker-build image pushed to an
	// aws repository.
	in(pkg string) finder
}

var (
	_ cloud   = (*aws)(nil)
	_ cloud   = (*azure)(nil)
	_ cloud   = (*eks)(nil)
	_ cloud   = (*dockerBuild)(nil)
	_ finder  = (*store)(nil)
	_ creator = (*aws)(nil)
	_ refuser = (*aws)(nil)
	_ refuser = (*azure)(nil)
	_ refuser = (*dockerBuild)(nil)
)

// newCloud returns the model of pkg.
func newCloud(pkg string, env Env) (cloud, error) {
	switch pkg {
	case "aws":
		return &aws{}, nil
	case "azure-native":
		return &azure{kubeconfig: env.Kubeconfig}, nil
	case "eks":
		return &eks{kubeconfig: env.Kubeconfig}, nil
	case "docker-build":
		return &dockerBuild{}, nil
	}
	return nil, fmt.Errorf("no stand-in for package %q (want one of %s)", pkg, strings.Join(Packages, ", "))
}

// noAnswer is the error for a function a stand-in does not model.
func noAnswer(tok string) error { return fmt.Errorf("no answer for %s", tok) }

// tokenParts splits a type or function token, pkg:module/path:Member,
// into its module's first segment and its member ("sqs", "Queue").
func tokenParts(tok string) (module, member string) {
	parts := strings.Split(tok, ":")
	if len(parts) != 3 {
		return "", tok
	}
	module, _, _ = strings.Cut(parts[1], "/")
	return module, parts[2]
}

// genericID is the id of a resource whose cloud id the program never
// reads: its URN name and a random suffix.
func genericID(urnName string) string { return urnName + "-" + randomHex(8) }
