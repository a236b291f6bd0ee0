package standin

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// callerArn is who the stand-in's calls come from.
var callerArn = fmt.Sprintf("arn:aws:iam::%s:user/stand-in", awsAccount)

// awsRegistryPassword is what the registry's authorization token carries;
// fixed, so that images whose inputs include it do not change between runs.
const awsRegistryPassword = "stand-in-ecr-password"

func (a *aws) invoke(tok string, args resource.PropertyMap, live finder) (resource.PropertyMap, error) {
	var out map[string]any
	switch tok {
	case "aws:index/getRegion:getRegion":
		region := cmp.Or(str(args, "name"), str(args, "region"), a.region)
		out = map[string]any{
			"name": region, "id": region, "region": region,
			"description": "stand-in region " + region, "endpoint": "ec2." + region + ".amazonaws.com",
		}
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{
			"accountId": awsAccount, "id": awsAccount, "userId": "AIDASTANDIN",
			"arn": callerArn,
		}
	case "aws:iam/getSessionContext:getSessionContext":
		out = sessionContext(str(args, "arn"))
	case "aws:index/getPartition:getPartition":
		out = map[string]any{"partition": "aws", "id": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		out = a.zones(str(args, "state"))
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		out = map[string]any{
			"id": a.region, "registryId": cmp.Or(str(args, "registryId"), awsAccount),
			"userName": "AWS", "password": awsRegistryPassword,
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + awsRegistryPassword)),
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", awsAccount, a.region),
			"expiresAt":          "2099-01-01T00:00:00Z",
		}
	case "aws:eks/getCluster:getCluster":
		return a.getCluster(str(args, "name"), live)
	case "aws:eks/getClusterVersions:getClusterVersions":
		out = clusterVersions(str(args, "versionStatus"), strs(args, "clusterVersionsOnlies"))
	default:
		return nil, noAnswer(tok)
	}
	return props(out), nil
}

// zones are three zones of the region, all available.
func (a *aws) zones(state string) map[string]any {
	var names, ids []any
	for i, z := range []string{"a", "b", "c"} {
		names = append(names, a.region+z)
		ids = append(ids, fmt.Sprintf("%s-az%d", a.region, i+1))
	}
	return map[string]any{"id": a.region, "names": names, "zoneIds": ids, "groupNames": []any{a.region}, "state": state}
}

// getCluster reads a cluster the stand-in created, by name, which is its
// id; EKS answers ResourceNotFoundException for any other.
func (a *aws) getCluster(name string, live finder) (resource.PropertyMap, error) {
	r, ok, err := live.find(func(r Resource) bool { return r.Type == "aws:eks/cluster:Cluster" && r.ID == name })
	if err != nil {
		return nil, fmt.Errorf("reading EKS Cluster (%s): %w", name, err)
	}
	if !ok {
		return nil, fmt.Errorf("reading EKS Cluster (%s): ResourceNotFoundException: No cluster found for name: %s: %w", name, name, ErrNotFound)
	}
	out, err := fromStored(r.Outputs)
	if err != nil {
		return nil, fmt.Errorf("reading EKS Cluster (%s): %w", name, err)
	}
	out["id"] = resource.NewProperty(name)
	return out, nil
}

// eksVersions are the Kubernetes versions EKS offers on 2026-12-04, with
// their support status and the end of standard and extended support (Amazon
// EKS user guide, "Understand the Kubernetes version lifecycle on EKS";
// 1.36 and its dates from the same 14 + 12 month rule). Older versions are
// no longer offered.
var eksVersions = []struct{ version, status, endOfStandard, endOfExtended string }{
	{"1.33", "EXTENDED_SUPPORT", "2026-07-29", "2027-07-29"},
	{"1.34", "EXTENDED_SUPPORT", "2026-12-02", "2027-12-02"},
	{"1.35", "STANDARD_SUPPORT", "2027-03-27", "2028-03-27"},
	{"1.36", "STANDARD_SUPPORT", "2027-08-02", "2028-08-02"},
}

// clusterVersions answers DescribeClusterVersions: the versions in status, or
// all offered ones, narrowed to only when it names some.
func clusterVersions(status string, only []string) map[string]any {
	var out []any
	for _, v := range eksVersions {
		if (status != "" && v.status != status) || (len(only) > 0 && !slices.Contains(only, v.version)) {
			continue
		}
		out = append(out, map[string]any{
			"clusterType": "eks", "clusterVersion": v.version, "versionStatus": v.status,
			"endOfStandardSupportDate": v.endOfStandard, "endOfExtendedSupportDate": v.endOfExtended,
		})
	}
	return map[string]any{"id": "eks", "clusterType": "eks", "clusterVersions": out}
}

// sessionContext is what IAM says of a caller ARN (pulumi-aws v6,
// iam.getSessionContext): an assumed-role session's issuer is its role (a
// stand-in role has no path), and any other principal is its own issuer.
func sessionContext(arn string) map[string]any {
	out := map[string]any{"id": arn, "arn": arn, "issuerArn": arn, "issuerId": "", "issuerName": "", "sessionName": ""}
	if m := assumedRole.FindStringSubmatch(arn); m != nil {
		out["issuerArn"] = fmt.Sprintf("arn:%s:iam::%s:role/%s", m[1], m[2], m[3])
		out["issuerName"], out["sessionName"] = m[3], m[4]
	}
	return out
}

var assumedRole = regexp.MustCompile(`^arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/(.+)$`)
