// Package images gives the apps their images: a registry (ECR or ACR),
// and the producer and consumer built from apps/ and pushed, pinned by
// digest, or prebuilt references.
package images

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	// defaultPlatform is the nodes' platform.
	defaultPlatform = "linux/amd64"
	// sourcesLabel names the hash of the sources an image was built from.
	sourcesLabel = "edw.dev/sources"
)

// Sources are the apps to package and where their images come from.
type Sources struct {
	// Apps are the commands to package, each with <Context>/<app>/Dockerfile.
	// Required.
	Apps []string
	// Context is the build context, the apps/ folder. Required unless
	// every app is Prebuilt.
	Context string
	// Prebuilt maps an app to an image reference to use instead of
	// building it (a deploy then needs no Docker). Optional.
	Prebuilt map[string]string
	// Platforms of the built images, one per node architecture (e.g.
	// linux/amd64, linux/arm64). Optional; default linux/amd64.
	Platforms []string
}

// target says where an app's image is pushed: the repository (without
// tag) and the registry login.
type target func(app string) (repository pulumi.StringInput, registry dockerbuild.RegistryArgs)

// images returns each app's image reference: the prebuilt one, or one
// built from the sources and pushed where to says.
func (s Sources) images(ctx *pulumi.Context, name string, to target, parent pulumi.ResourceOption) (pulumi.StringMap, error) {
	refs := pulumi.StringMap{}
	var sources string
	for _, app := range s.Apps {
		if ref, ok := s.Prebuilt[app]; ok {
			refs[app] = pulumi.String(ref)
			continue
		}
		if sources == "" {
			var err error
			if sources, err = contentTag(s.Context); err != nil {
				return nil, fmt.Errorf("images %q: %w", name, err)
			}
		}
		repository, registry := to(app)
		img, err := build(ctx, name+"-"+app, &buildArgs{
			app: app, sources: sources, context: s.Context, platforms: s.Platforms, repository: repository, registry: registry,
		}, parent)
		if err != nil {
			return nil, err
		}
		refs[app] = pulumi.Sprintf("%s@%s", repository, img.Digest)
	}
	return refs, nil
}

// buildArgs describe one app's image.
type buildArgs struct {
	app, sources, context string
	platforms             []string
	// repository is where the image goes.
	repository pulumi.StringInput
	// registry logs in to push.
	registry dockerbuild.RegistryArgs
}

// build builds <context>/<app>/Dockerfile and pushes it to repository by
// digest, untagged. Builds are not reproducible, so a tag would collide in
// a registry with immutable tags: the same sources built again (for a new
// platform, or by a retried up) give another digest under the same tag,
// which ECR refuses. A digest names one build only; the sources' hash
// goes in a label, and into the inputs, so that changed sources rebuild.
func build(ctx *pulumi.Context, name string, b *buildArgs, parent pulumi.ResourceOption) (*dockerbuild.Image, error) {
	platforms := dockerbuild.PlatformArray{}
	for _, p := range b.platforms {
		platforms = append(platforms, dockerbuild.Platform(p))
	}
	if len(platforms) == 0 {
		platforms = append(platforms, dockerbuild.Platform(defaultPlatform))
	}
	return dockerbuild.NewImage(ctx, name, &dockerbuild.ImageArgs{
		Context:    &dockerbuild.BuildContextArgs{Location: pulumi.String(b.context)},
		Dockerfile: &dockerbuild.DockerfileArgs{Location: pulumi.String(filepath.Join(b.context, b.app, "Dockerfile"))},
		Platforms:  platforms,
		Labels:     pulumi.StringMap{sourcesLabel: pulumi.String(b.sources)},
		Push:       pulumi.Bool(false),
		Exports: dockerbuild.ExportArray{dockerbuild.ExportArgs{Image: &dockerbuild.ExportImageArgs{
			Names: pulumi.StringArray{b.repository}, Push: pulumi.Bool(true), PushByDigest: pulumi.Bool(true),
		}}},
		// A preview shows the build without running it, so pull-request
		// previews need no Docker.
		BuildOnPreview: pulumi.Bool(false),
		Registries:     dockerbuild.RegistryArray{b.registry},
	}, parent)
}

// contentTag hashes the build context and the Dockerfiles, leaving out the
// tests, which .dockerignore keeps out of the images.
func contentTag(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if rel == "e2e" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hashing the build context %s: %w", dir, err)
	}
	return "src-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}
