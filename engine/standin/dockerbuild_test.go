package standin

import (
	"regexp"
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
