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

// defaultPlatform is the nodes' platform.
const defaultPlatform = "linux/amd64"

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
	// Platform of the built images. Optional; default linux/amd64.
	Platform string
}

// target says where an app's image is pushed: the repository (without
// tag) and the registry login.
type target func(app string) (repository pulumi.StringInput, registry dockerbuild.RegistryArgs)

// images returns each app's image reference: the prebuilt one, or one
// built from the sources and pushed where to says.
func (s Sources) images(ctx *pulumi.Context, name string, to target, parent pulumi.ResourceOption) (pulumi.StringMap, error) {
	refs := pulumi.StringMap{}
	var tag string
	for _, app := range s.Apps {
		if ref, ok := s.Prebuilt[app]; ok {
			refs[app] = pulumi.String(ref)
			continue
		}
		if tag == "" {
			// Tags are immutable: name each build after its sources, so an
			// unchanged tree reuses its image and a changed one gets a new tag.
			var err error
			if tag, err = contentTag(s.Context); err != nil {
				return nil, fmt.Errorf("images %q: %w", name, err)
			}
		}
		repository, registry := to(app)
		img, err := build(ctx, name+"-"+app, &buildArgs{
			app: app, tag: tag, context: s.Context, platform: s.Platform, repository: repository, registry: registry,
		}, parent)
		if err != nil {
			return nil, err
		}
		refs[app] = img.Ref
	}
	return refs, nil
}

// buildArgs describe one app's image.
type buildArgs struct {
	app, tag, context, platform string
	// repository is where the image goes, without tag.
	repository pulumi.StringInput
	// registry logs in to push.
	registry dockerbuild.RegistryArgs
}

// build builds <context>/<app>/Dockerfile and pushes it as
// <repository>:<tag>; the image's Ref is pinned by digest.
func build(ctx *pulumi.Context, name string, b *buildArgs, parent pulumi.ResourceOption) (*dockerbuild.Image, error) {
	platform := b.platform
	if platform == "" {
		platform = defaultPlatform
	}
	return dockerbuild.NewImage(ctx, name, &dockerbuild.ImageArgs{
		Context:    &dockerbuild.BuildContextArgs{Location: pulumi.String(b.context)},
		Dockerfile: &dockerbuild.DockerfileArgs{Location: pulumi.String(filepath.Join(b.context, b.app, "Dockerfile"))},
		Platforms:  dockerbuild.PlatformArray{dockerbuild.Platform(platform)},
		Push:       pulumi.Bool(true),
		// A preview shows the build without running it, so pull-request
		// previews need no Docker.
		BuildOnPreview: pulumi.Bool(false),
		Tags:           pulumi.StringArray{pulumi.Sprintf("%s:%s", b.repository, b.tag)},
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
