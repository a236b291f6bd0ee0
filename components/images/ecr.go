// Package images gives the apps their images: ECR repositories, and the
// producer and consumer built from apps/ and pushed, or prebuilt references.
package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EcrToken is the component's type token.
const EcrToken = "edw:images:Ecr"

// EcrArgs configure the repositories and images.
type EcrArgs struct {
	// Apps are the commands to package, each with <Context>/<app>/Dockerfile.
	// Required.
	Apps []string
	// Context is the build context, the apps/ folder. Required unless
	// every app is Prebuilt.
	Context string
	// Prebuilt maps an app to an image reference to use instead of
	// building it (a preview then needs no Docker). Optional.
	Prebuilt map[string]string
	// Keep is how many images each repository keeps. Required.
	Keep int
	// Platform of the built images. Optional; default linux/amd64.
	Platform string
	// Tags for the repositories. Optional.
	Tags pulumi.StringMap
}

// Ecr holds a repository per app and the image each deployment runs.
type Ecr struct {
	pulumi.ResourceState

	// RepositoryUrls and ImageRefs are keyed by app; refs are pinned by
	// digest when built here.
	RepositoryUrls pulumi.StringMapOutput `pulumi:"repositoryUrls"`
	ImageRefs      pulumi.StringMapOutput `pulumi:"imageRefs"`
}

// NewEcr creates the repositories and builds what is not prebuilt.
func NewEcr(ctx *pulumi.Context, name string, args *EcrArgs, opts ...pulumi.ResourceOption) (*Ecr, error) {
	if args == nil || len(args.Apps) == 0 || args.Keep < 1 {
		return nil, fmt.Errorf("images %q: Apps and Keep are required", name)
	}
	c := &Ecr{}
	if err := ctx.RegisterComponentResource(EcrToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	var tag string
	urls, refs := pulumi.StringMap{}, pulumi.StringMap{}
	for _, app := range args.Apps {
		repo, err := newRepository(ctx, name+"-"+app, args, parent)
		if err != nil {
			return nil, err
		}
		urls[app] = repo.RepositoryUrl
		if ref, ok := args.Prebuilt[app]; ok {
			refs[app] = pulumi.String(ref)
			continue
		}
		if tag == "" {
			// Tags are immutable: name each build after its sources, so an
			// unchanged tree reuses its image and a changed one gets a new tag.
			if tag, err = contentTag(args.Context); err != nil {
				return nil, fmt.Errorf("images %q: %w", name, err)
			}
		}
		img, err := build(ctx, name+"-"+app, app, tag, repo, args, parent)
		if err != nil {
			return nil, err
		}
		refs[app] = img.Ref
	}
	c.RepositoryUrls, c.ImageRefs = urls.ToStringMapOutput(), refs.ToStringMapOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"repositoryUrls": c.RepositoryUrls, "imageRefs": c.ImageRefs})
}

// newRepository creates a scanned, encrypted repository with immutable tags
// that keeps the last Keep images.
func newRepository(ctx *pulumi.Context, name string, args *EcrArgs, parent pulumi.ResourceOption) (*ecr.Repository, error) {
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		ImageTagMutability:         pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		EncryptionConfigurations:   ecr.RepositoryEncryptionConfigurationArray{ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS")}},
		// Destroy removes the images with the repository.
		ForceDelete: pulumi.Bool(true),
		Tags:        args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	policy, _ := json.Marshal(map[string]any{"rules": []map[string]any{{
		"rulePriority": 1,
		"description":  fmt.Sprintf("keep the last %d images", args.Keep),
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": args.Keep},
		"action":       map[string]any{"type": "expire"},
	}}}) // maps of strings and numbers always marshal
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{Repository: repo.Name, Policy: pulumi.String(policy)}, parent); err != nil {
		return nil, err
	}
	return repo, nil
}

func build(ctx *pulumi.Context, name, app, tag string, repo *ecr.Repository, args *EcrArgs, parent pulumi.ResourceOption) (*dockerbuild.Image, error) {
	auth := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, pulumi.Parent(repo))
	platform := args.Platform
	if platform == "" {
		platform = "linux/amd64"
	}
	return dockerbuild.NewImage(ctx, name, &dockerbuild.ImageArgs{
		Context:    &dockerbuild.BuildContextArgs{Location: pulumi.String(args.Context)},
		Dockerfile: &dockerbuild.DockerfileArgs{Location: pulumi.String(filepath.Join(args.Context, app, "Dockerfile"))},
		Platforms:  dockerbuild.PlatformArray{dockerbuild.Platform(platform)},
		Push:       pulumi.Bool(true),
		// A preview shows the build without running it, so pull-request
		// previews need no Docker.
		BuildOnPreview: pulumi.Bool(false),
		Tags:           pulumi.StringArray{pulumi.Sprintf("%s:%s", repo.RepositoryUrl, tag)},
		Registries: dockerbuild.RegistryArray{dockerbuild.RegistryArgs{
			Address:  repo.RepositoryUrl,
			Username: auth.UserName(),
			Password: pulumi.ToSecret(auth.Password()).(pulumi.StringOutput),
		}},
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
