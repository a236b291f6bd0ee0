package standin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// dockerBuild stands in for docker-build without building or pushing
// anything (there is no Docker engine where it runs): an image's digest is
// a hash of what would be built, so that it changes when the build does,
// and its ref pins the first tag's repository to that digest. ECR
// repositories with immutable tags refuse to move a tag to another
// digest, as a rebuild under the same tag would.
type dockerBuild struct{}

func (dockerBuild) configure(func(string) string)                  {}
func (dockerBuild) nameKey(string) string                          { return "" }
func (dockerBuild) newName(string, string, []byte) (string, error) { return "", nil }
func (dockerBuild) replaces(string, string) bool                   { return false }
func (dockerBuild) invoke(tok string, _ resource.PropertyMap, _ finder) (resource.PropertyMap, error) {
	return nil, noAnswer(tok)
}

func (dockerBuild) compute(typ, urnName, id string, in, old resource.PropertyMap) (string, resource.PropertyMap, error) {
	if id == "" {
		id = genericID(urnName)
	}
	if typ != "docker-build:index:Image" {
		return id, resource.PropertyMap{}, nil
	}
	digest, err := imageDigest(in)
	if err != nil {
		return "", nil, err
	}
	if err := keepsImmutableTags(in, old, digest); err != nil {
		return "", nil, err
	}
	ref := ""
	if tags := strs(in, "tags"); len(tags) > 0 {
		ref = repository(tags[0]) + "@" + digest
	}
	return id, props(map[string]any{"digest": digest, "ref": ref}), nil
}

// keepsImmutableTags refuses to push digest under an ECR tag the image's
// previous build holds with another digest.
func keepsImmutableTags(in, old resource.PropertyMap, digest string) error {
	was := str(old, "digest")
	if was == "" || was == digest {
		return nil
	}
	for _, tag := range strs(in, "tags") {
		if strings.Contains(tag, ".dkr.ecr.") && slices.Contains(strs(old, "tags"), tag) {
			return fmt.Errorf("ImageTagAlreadyExistsException: the image tag %q already exists in the repository %q and cannot be overwritten because the repository is immutable", tag[len(repository(tag))+1:], repository(tag))
		}
	}
	return nil
}

// imageDigest hashes the canonical JSON of the image's inputs, all but the
// registry credentials, which rotate without changing the image.
func imageDigest(in resource.PropertyMap) (string, error) {
	build := in.Copy()
	delete(build, "registries")
	b, err := json.Marshal(unwrapped(resource.NewProperty(build)).Mappable())
	if err != nil {
		return "", fmt.Errorf("image digest: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// repository is a tag's repository: the tag without its ":<tag>", which
// follows the last "/" (a registry's host may have a port).
func repository(tag string) string {
	slash := strings.LastIndex(tag, "/")
	if colon := strings.LastIndex(tag, ":"); colon > slash {
		return tag[:colon]
	}
	return tag
}
