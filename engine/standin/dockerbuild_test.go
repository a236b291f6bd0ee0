package standin

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestImageDigestFollowsTheBuild(t *testing.T) {
	s := newServer(t, "docker-build", Env{StateDir: t.TempDir()})
	urn := "urn:pulumi:dev::edw::docker-build:index:Image::consumer"
	in := resource.PropertyMap{
		"tags":       resource.NewProperty([]resource.PropertyValue{resource.NewProperty("127.0.0.1:5000/edw/consumer:v1")}),
		"context":    resource.NewProperty(resource.PropertyMap{"location": resource.NewProperty("apps")}),
		"registries": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{"password": resource.MakeSecret(resource.NewProperty("one"))})}),
	}
	_, first := create(t, s, urn, in)
	digest := str(first, "digest")
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) || str(first, "ref") != "127.0.0.1:5000/edw/consumer@"+digest {
		t.Errorf("digest %q, ref %q", digest, str(first, "ref"))
	}

	in["registries"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{"password": resource.MakeSecret(resource.NewProperty("two"))})})
	if _, again := create(t, s, urn, in); str(again, "digest") != digest {
		t.Errorf("new credentials changed the digest")
	}
	in["context"] = resource.NewProperty(resource.PropertyMap{"location": resource.NewProperty("elsewhere")})
	if _, changed := create(t, s, urn, in); str(changed, "digest") == digest {
		t.Errorf("a new build context kept the digest")
	}
}

func TestECRRefusesToMoveATag(t *testing.T) {
	tagged := func(platform string) resource.PropertyMap {
		return resource.PropertyMap{
			"tags":      resource.NewProperty([]resource.PropertyValue{resource.NewProperty("123456789012.dkr.ecr.us-east-1.amazonaws.com/consumer:src-1")}),
			"platforms": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(platform)}),
		}
	}
	old := tagged("linux/amd64")
	_, built, err := dockerBuild{}.compute("docker-build:index:Image", "consumer", "", old, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (dockerBuild{}).compute("docker-build:index:Image", "consumer", "id", tagged("linux/arm64"), merged(old, built)); err == nil || !strings.Contains(err.Error(), "ImageTagAlreadyExistsException") {
		t.Errorf("a new digest under the same ECR tag: %v", err)
	}
	byDigest := resource.PropertyMap{"platforms": resource.NewProperty([]resource.PropertyValue{resource.NewProperty("linux/arm64")})}
	if _, _, err := (dockerBuild{}).compute("docker-build:index:Image", "consumer", "id", byDigest, merged(old, built)); err != nil {
		t.Errorf("an untagged push: %v", err)
	}
}
