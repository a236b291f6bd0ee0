package images

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EcrToken is the component's type token.
const EcrToken = "edw:images:Ecr"

// EcrArgs configure the repositories and images.
type EcrArgs struct {
	Sources
	// Keep is how many images each repository keeps. Required.
	Keep int
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
	urls, repos := pulumi.StringMap{}, map[string]*ecr.Repository{}
	for _, app := range args.Apps {
		repo, err := newRepository(ctx, name+"-"+app, args, parent)
		if err != nil {
			return nil, err
		}
		urls[app], repos[app] = repo.RepositoryUrl, repo
	}
	refs, err := args.images(ctx, name, func(app string) (pulumi.StringInput, dockerbuild.RegistryArgs) {
		repo := repos[app]
		auth := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{RegistryId: repo.RegistryId}, pulumi.Parent(repo))
		return repo.RepositoryUrl, dockerbuild.RegistryArgs{
			Address:  repo.RepositoryUrl,
			Username: auth.UserName(),
			Password: pulumi.ToSecret(auth.Password()).(pulumi.StringOutput),
		}
	}, parent)
	if err != nil {
		return nil, err
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
