package standin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestAWSIDsAndARNs(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	vpcID, vpc := create(t, s, "urn:pulumi:dev::edw::aws:ec2/vpc:Vpc::cluster-vpc", resource.PropertyMap{})
	if !regexp.MustCompile(`^vpc-[0-9a-f]{17}$`).MatchString(vpcID) || str(vpc, "arn") != "arn:aws:ec2:eu-west-1:123456789012:vpc/"+vpcID {
		t.Errorf("vpc %q, arn %q", vpcID, str(vpc, "arn"))
	}
	roleID, role := create(t, s, "urn:pulumi:dev::edw::aws:iam/role:Role::node-role", resource.PropertyMap{})
	if roleID != str(role, "name") || str(role, "arn") != "arn:aws:iam::123456789012:role/"+roleID {
		t.Errorf("role %q, arn %q", roleID, str(role, "arn"))
	}
	_, repo := create(t, s, "urn:pulumi:dev::edw::aws:ecr/repository:Repository::images-consumer", resource.PropertyMap{})
	if want := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/" + str(repo, "name"); str(repo, "repositoryUrl") != want {
		t.Errorf("repository url = %q, want %q", str(repo, "repositoryUrl"), want)
	}
	otherID, _ := create(t, s, "urn:pulumi:dev::edw::aws:iam/rolePolicyAttachment:RolePolicyAttachment::node-policy-0", resource.PropertyMap{})
	if !regexp.MustCompile(`^node-policy-0-[0-9a-f]{8}$`).MatchString(otherID) {
		t.Errorf("attachment id = %q, want <name>-<random>", otherID)
	}
}

func TestAWSFunctions(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	invoke := func(tok string) resource.PropertyMap { return invokeWith(t, s, tok, resource.PropertyMap{}) }
	if got := invoke("aws:index/getRegion:getRegion"); str(got, "name") != "eu-west-1" {
		t.Errorf("region = %v", got)
	}
	if got := invoke("aws:index/getCallerIdentity:getCallerIdentity"); str(got, "accountId") != awsAccount {
		t.Errorf("caller = %v", got)
	}
	if got := strs(invoke("aws:index/getAvailabilityZones:getAvailabilityZones"), "names"); len(got) != 3 || got[0] != "eu-west-1a" {
		t.Errorf("zones = %v", got)
	}
	var standard []string
	for _, v := range invokeWith(t, s, "aws:eks/getClusterVersions:getClusterVersions", resource.PropertyMap{"versionStatus": resource.NewProperty("STANDARD_SUPPORT")})["clusterVersions"].ArrayValue() {
		standard = append(standard, str(v.ObjectValue(), "clusterVersion"))
	}
	if fmt.Sprint(standard) != "[1.35 1.36]" {
		t.Errorf("EKS versions in standard support: %v", standard)
	}
	if got := invoke("aws:ecr/getAuthorizationToken:getAuthorizationToken"); str(got, "userName") != "AWS" || str(got, "password") == "" {
		t.Errorf("registry token = %v", got)
	}
}

func TestAWSRefusesMalformedPolicies(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	for _, c := range []struct {
		typ, key, doc string
		ok            bool
	}{
		{"aws:sqs/queuePolicy:QueuePolicy", "policy", `{"Statement":[{"Sid":"Deny","Effect":"Deny","Action":["sqs:*"]}]}`, false},
		{"aws:sqs/queuePolicy:QueuePolicy", "policy", `{"Statement":[{"Sid":"Deny","Effect":"Deny","Principal":"*","Action":["sqs:*"]}]}`, true},
		{"aws:iam/policy:Policy", "policy", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["sqs:*"]}]}`, false},
		{"aws:iam/policy:Policy", "policy", `{"Statement":[{"Effect":"Allow","Action":["sqs:*"]}]}`, true},
		{"aws:iam/role:Role", "assumeRolePolicy", `{"Statement":[{"Effect":"Allow","Action":["sts:AssumeRole"]}]}`, false},
	} {
		_, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
			Urn:        "urn:pulumi:dev::edw::" + c.typ + "::p",
			Properties: wireOf(t, resource.PropertyMap{resource.PropertyKey(c.key): resource.NewProperty(c.doc)}),
		})
		if (err == nil) != c.ok {
			t.Errorf("%s %s: err = %v, want ok = %v", c.typ, c.doc, err, c.ok)
		}
	}
}

func TestEKSMakesItsLogGroupUnlessItExists(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	logTypes := resource.NewProperty([]resource.PropertyValue{resource.NewProperty("api")})
	create(t, s, "urn:pulumi:dev::edw::aws:eks/cluster:Cluster::a", resource.PropertyMap{"name": resource.NewProperty("a"), "enabledClusterLogTypes": logTypes})
	made, ok, err := s.store.get("/aws/eks/a/cluster")
	if err != nil || !ok || made.URN != "" {
		t.Fatalf("EKS's own log group: %v %v %+v", ok, err, made)
	}

	create(t, s, "urn:pulumi:dev::edw::aws:cloudwatch/logGroup:LogGroup::b-logs", resource.PropertyMap{
		"name": resource.NewProperty("/aws/eks/b/cluster"), "retentionInDays": resource.NewProperty(90.0),
	})
	create(t, s, "urn:pulumi:dev::edw::aws:eks/cluster:Cluster::b", resource.PropertyMap{"name": resource.NewProperty("b"), "enabledClusterLogTypes": logTypes})
	kept, _, _ := s.store.get("/aws/eks/b/cluster")
	if kept.URN == "" || kept.Outputs["retentionInDays"] != 90.0 {
		t.Errorf("the program's log group was not kept: %+v", kept)
	}
}

// EKS refuses a node group in a public subnet that assigns no public
// addresses, and takes one in a subnet that routes through a NAT gateway.
func TestEKSRefusesNodeGroupsInPublicSubnetsWithoutPublicIPs(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	subnet := func(name string, mapsPublic bool, route resource.PropertyMap) string {
		id, _ := create(t, s, "urn:pulumi:dev::edw::aws:ec2/subnet:Subnet::"+name, resource.PropertyMap{"mapPublicIpOnLaunch": resource.NewProperty(mapsPublic)})
		table, _ := create(t, s, "urn:pulumi:dev::edw::aws:ec2/routeTable:RouteTable::"+name, resource.PropertyMap{
			"routes": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(route)}),
		})
		create(t, s, "urn:pulumi:dev::edw::aws:ec2/routeTableAssociation:RouteTableAssociation::"+name, resource.PropertyMap{
			"subnetId": resource.NewProperty(id), "routeTableId": resource.NewProperty(table),
		})
		return id
	}
	igw, _ := create(t, s, "urn:pulumi:dev::edw::aws:ec2/internetGateway:InternetGateway::igw", resource.PropertyMap{})
	nat, _ := create(t, s, "urn:pulumi:dev::edw::aws:ec2/natGateway:NatGateway::nat", resource.PropertyMap{})
	public := subnet("public", false, resource.PropertyMap{"gatewayId": resource.NewProperty(igw)})
	mapped := subnet("mapped", true, resource.PropertyMap{"gatewayId": resource.NewProperty(igw)})
	private := subnet("private", false, resource.PropertyMap{"natGatewayId": resource.NewProperty(nat)})
	for i, c := range []struct {
		subnets []string
		ok      bool
	}{
		{[]string{private}, true},
		{[]string{mapped, private}, true},
		{[]string{public, private}, false},
	} {
		var ids []resource.PropertyValue
		for _, id := range c.subnets {
			ids = append(ids, resource.NewProperty(id))
		}
		_, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
			Urn: fmt.Sprintf("urn:pulumi:dev::edw::aws:eks/nodeGroup:NodeGroup::system-%d", i),
			Properties: wireOf(t, resource.PropertyMap{
				"nodeGroupName": resource.NewProperty(fmt.Sprintf("system-%d", i)), "subnetIds": resource.NewProperty(ids),
			}),
		})
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), "Ec2SubnetInvalidConfiguration")) {
			t.Errorf("node group in %v: err = %v, want ok = %v", c.subnets, err, c.ok)
		}
	}
}

func invokeWith(t *testing.T, s *Server, tok string, args resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	resp, err := s.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tok, Args: wireOf(t, args)})
	if err != nil {
		t.Fatal(err)
	}
	return fromWire(t, resp.GetReturn())
}

func TestEKSRefusesASecondAccessEntryForAPrincipal(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	cluster := func(name string, access resource.PropertyMap) {
		create(t, s, "urn:pulumi:dev::edw::aws:eks/cluster:Cluster::"+name, resource.PropertyMap{"name": resource.NewProperty(name), "accessConfig": resource.NewProperty(access)})
	}
	cluster("bootstrapped", resource.PropertyMap{"authenticationMode": resource.NewProperty("API")})
	cluster("entries-only", resource.PropertyMap{"authenticationMode": resource.NewProperty("API"), "bootstrapClusterCreatorAdminPermissions": resource.NewProperty(false)})
	other := "arn:aws:iam::" + awsAccount + ":role/ci/deploy"
	for i, c := range []struct {
		cluster, principal string
		ok                 bool
	}{
		{"bootstrapped", callerArn, false},
		{"bootstrapped", other, true},
		{"bootstrapped", other, false},
		{"entries-only", callerArn, true},
		{"entries-only", "arn:aws:sts::" + awsAccount + ":assumed-role/deploy/me", false},
	} {
		_, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
			Urn: fmt.Sprintf("urn:pulumi:dev::edw::aws:eks/accessEntry:AccessEntry::e%d", i),
			Properties: wireOf(t, resource.PropertyMap{
				"clusterName": resource.NewProperty(c.cluster), "principalArn": resource.NewProperty(c.principal),
			}),
		})
		if (err == nil) != c.ok {
			t.Errorf("entry %d for %s on %s: err = %v, want ok = %v", i, c.principal, c.cluster, err, c.ok)
		}
	}
}
