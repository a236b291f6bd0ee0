package images

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/containerregistry/v2"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// AcrToken is the component's type token.
const AcrToken = "edw:images:Acr"

const (
	// refreshTokenUser is the user name ACR takes with a refresh token.
	refreshTokenUser = "00000000-0000-0000-0000-000000000000"
	// exchangeTimeout bounds the token exchange with the registry.
	exchangeTimeout = 30 * time.Second
)

// AcrArgs configure the registry and images.
type AcrArgs struct {
	Sources
	// ResourceGroupName holds the registry. Required.
	ResourceGroupName pulumi.StringInput
	// SubscriptionID and TenantID locate the role definitions and the
	// deployer's sign-in. Required.
	SubscriptionID, TenantID string
	// PullPrincipalId is granted AcrPull: the cluster's kubelet identity.
	// Required.
	PullPrincipalId pulumi.StringInput
	// Tags for the registry. Optional.
	Tags pulumi.StringMap
}

// Acr is a registry without an admin user; the cluster pulls with its
// kubelet identity and the program pushes with the deployer's own sign-in.
type Acr struct {
	pulumi.ResourceState

	RegistryName pulumi.StringOutput    `pulumi:"registryName"`
	LoginServer  pulumi.StringOutput    `pulumi:"loginServer"`
	ImageRefs    pulumi.StringMapOutput `pulumi:"imageRefs"`
}

// NewAcr creates the registry, grants the pull, and builds what is not
// prebuilt.
func NewAcr(ctx *pulumi.Context, name string, args *AcrArgs, opts ...pulumi.ResourceOption) (*Acr, error) {
	if args == nil || len(args.Apps) == 0 || args.ResourceGroupName == nil || args.SubscriptionID == "" || args.TenantID == "" || args.PullPrincipalId == nil {
		return nil, fmt.Errorf("images %q: Apps, ResourceGroupName, SubscriptionID, TenantID and PullPrincipalId are required", name)
	}
	c := &Acr{}
	if err := ctx.RegisterComponentResource(AcrToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	registry, err := containerregistry.NewRegistry(ctx, name, &containerregistry.RegistryArgs{
		ResourceGroupName: args.ResourceGroupName,
		Sku:               &containerregistry.SkuArgs{Name: pulumi.String("Standard")},
		AdminUserEnabled:  pulumi.Bool(false),
		Tags:              args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := authorization.NewRoleAssignment(ctx, name+"-pull", &authorization.RoleAssignmentArgs{
		PrincipalId:      args.PullPrincipalId,
		PrincipalType:    pulumi.String("ServicePrincipal"),
		RoleDefinitionId: pulumi.String(identity.RoleDefinitionID(args.SubscriptionID, identity.AcrPull)),
		Scope:            registry.ID(),
	}, parent); err != nil {
		return nil, err
	}
	login := dockerbuild.RegistryArgs{
		Address:  registry.LoginServer,
		Username: pulumi.String(refreshTokenUser),
		Password: refreshToken(ctx, registry.LoginServer, args.TenantID, pulumi.Parent(registry)),
	}
	refs, err := args.images(ctx, name, func(app string) (pulumi.StringInput, dockerbuild.RegistryArgs) {
		return pulumi.Sprintf("%s/%s", registry.LoginServer, app), login
	}, parent)
	if err != nil {
		return nil, err
	}
	c.RegistryName, c.LoginServer, c.ImageRefs = registry.Name, registry.LoginServer, refs.ToStringMapOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"registryName": c.RegistryName, "loginServer": c.LoginServer, "imageRefs": c.ImageRefs})
}

// refreshToken trades the deployer's Azure AD token for a registry refresh
// token, as `az acr login` does, so that pushing needs neither the admin
// user nor a docker login. A preview pushes nothing and trades nothing.
func refreshToken(ctx *pulumi.Context, loginServer pulumi.StringOutput, tenantID string, opts ...pulumi.InvokeOption) pulumi.StringOutput {
	aad := authorization.GetClientTokenOutput(ctx, authorization.GetClientTokenOutputArgs{}, opts...)
	token := pulumi.All(loginServer, aad.Token()).ApplyTWithContext(ctx.Context(), func(c context.Context, v []any) (string, error) {
		if ctx.DryRun() {
			return "", nil
		}
		return exchange(c, v[0].(string), tenantID, v[1].(string))
	}).(pulumi.StringOutput)
	return pulumi.ToSecret(token).(pulumi.StringOutput)
}

// exchange calls the registry's token exchange endpoint.
func exchange(ctx context.Context, server, tenantID, aadToken string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	form := url.Values{"grant_type": {"access_token"}, "service": {server}, "tenant": {tenantID}, "access_token": {aadToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+server+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("registry %s: token exchange: %w", server, err)
	}
	defer resp.Body.Close()
	var body struct {
		RefreshToken string `json:"refresh_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("registry %s: token exchange: %s (is the deployer signed in to the registry's tenant, with push rights?)", server, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.RefreshToken == "" {
		return "", fmt.Errorf("registry %s: token exchange: no refresh token in the answer", server)
	}
	return body.RefreshToken, nil
}
