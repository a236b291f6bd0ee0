package standin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
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

// ecrHost is the host of an ECR registry: its account and region.
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$`)

// refuses answers as a push does to an ECR repository of the stack's
// account that does not exist (Amazon ECR user guide, "Pushing a Docker
// image": the repository must exist; the registry answers "name unknown").
// The repositories are the aws stand-in's, kept apart. Other registries
// are not the stand-in's to judge: an ACR name is global, and may be
// another subscription's.
func (dockerBuild) refuses(typ string, in resource.PropertyMap, live finder) error {
	if typ != "docker-build:index:Image" {
		return nil
	}
	for _, name := range pushedNames(in) {
		host, path, _ := strings.Cut(repository(name), "/")
		path, _, _ = strings.Cut(path, "@")
		if m := ecrHost.FindStringSubmatch(host); m == nil || m[1] != awsAccount {
			continue
		}
		_, ok, err := live.in("aws").find(func(r Resource) bool { return r.Type == "aws:ecr/repository:Repository" && r.ID == path })
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("pushing %s: name unknown: The repository with name '%s' does not exist in the registry with id '%s': %w", name, path, awsAccount, ErrNotFound)
		}
	}
	return nil
}

// pushedNames are the image names an image is pushed under: its tags when
// push is set, and the names of each image export that pushes.
func pushedNames(in resource.PropertyMap) []string {
	var names []string
	if isTrue(in, "push") {
		names = strs(in, "tags")
	}
	if v := plain(in["exports"]); v.IsArray() {
		for _, e := range v.ArrayValue() {
			if image := obj(plainObject(e), "image"); isTrue(image, "push") {
				names = append(names, strs(image, "names")...)
			}
		}
	}
	return names
}

// plainObject is v's object, or an empty one.
func plainObject(v resource.PropertyValue) resource.PropertyMap {
	if v = plain(v); v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}
