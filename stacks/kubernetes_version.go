package stacks

import (
	"fmt"
	"slices"
	"strings"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EKS's support statuses of a Kubernetes version (DescribeClusterVersions,
// versionStatus), and what a cluster pays an hour in each (Amazon EKS
// pricing, checked 2026-12-04).
const (
	eksStandard    = "STANDARD_SUPPORT"
	eksExtended    = "EXTENDED_SUPPORT"
	eksStandardUSD = 0.10
	eksExtendedUSD = 0.60
)

// The cluster's upgrade policy on EKS (edw:clusterSupportType): STANDARD
// lets EKS upgrade the control plane when standard support ends; EXTENDED
// keeps the version at the extended-support price.
const (
	supportStandard = "STANDARD"
	supportExtended = "EXTENDED"
)

// checkEksVersion asks EKS which Kubernetes versions it offers, during
// preview as during update, and refuses edw:clusterVersion unless EKS
// offers it: a version in extended support only with
// edw:clusterSupportType EXTENDED, and then with a warning of its price.
func checkEksVersion(ctx *pulumi.Context, version, supportType string) error {
	offered, err := awseks.GetClusterVersions(ctx, &awseks.GetClusterVersionsArgs{ClusterType: pulumi.StringRef("eks")})
	if err != nil {
		return fmt.Errorf("%s:clusterVersion: asking EKS which versions it offers: %w", Namespace, err)
	}
	status := map[string]string{}
	var standard, extended []string
	for _, v := range offered.ClusterVersions {
		status[v.ClusterVersion] = v.VersionStatus
		switch v.VersionStatus {
		case eksStandard:
			standard = append(standard, v.ClusterVersion)
		case eksExtended:
			extended = append(extended, v.ClusterVersion)
		}
	}
	slices.Sort(standard)
	slices.Sort(extended)
	switch status[version] {
	case eksStandard:
		return nil
	case eksExtended:
		if supportType != supportExtended {
			return fmt.Errorf("%s:clusterVersion is %s, which EKS offers in extended support only, at $%.2f a cluster-hour instead of $%.2f: "+
				"set a version in standard support (%s), or accept the price with %s:clusterSupportType %s",
				Namespace, version, eksExtendedUSD, eksStandardUSD, strings.Join(standard, ", "), Namespace, supportExtended)
		}
		return ctx.Log.Warn(fmt.Sprintf("%s:clusterVersion %s is in EKS extended support: the control plane costs $%.2f an hour instead of $%.2f; "+
			"versions in standard support: %s", Namespace, version, eksExtendedUSD, eksStandardUSD, strings.Join(standard, ", ")), nil)
	default:
		return fmt.Errorf("%s:clusterVersion is %s, which EKS does not offer: set one of %s (standard support) or %s (extended support, at $%.2f a cluster-hour)",
			Namespace, version, strings.Join(standard, ", "), strings.Join(extended, ", "), eksExtendedUSD)
	}
}

// aksVersion is a Kubernetes minor AKS offers, and the last day it does
// outside the Premium tier's long-term support.
type aksVersion struct {
	minor string
	end   time.Time
}

// aksVersions are the minors AKS offers as GA, from the AKS
// supported-versions calendar (learn.microsoft.com, "Supported Kubernetes
// versions in Azure Kubernetes Service", checked 2026-12-04): each for 12
// months after its GA. azure-native has no function that lists them, and
// the ARM API that does (managedClusters/kubernetesVersions) is not worth
// a second sign-in for a table that changes three times a year; a test
// holds the default in it, so that this table moves when AKS's does.
var aksVersions = []aksVersion{
	{"1.35", date(2027, time.March, 31)},
	{"1.36", date(2027, time.June, 30)},
	{"1.37", date(2027, time.October, 31)},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 23, 59, 59, 0, time.UTC) }

// checkAksVersion refuses a version AKS does not offer on day now.
func checkAksVersion(version string, now time.Time) error {
	var offered []string
	for _, v := range aksVersions {
		if now.After(v.end) {
			continue
		}
		if v.minor == version {
			return nil
		}
		offered = append(offered, v.minor)
	}
	return fmt.Errorf("%s:clusterVersion is %s, which AKS does not offer on %s (outside the Premium tier's long-term support): set one of %s",
		Namespace, version, now.Format(time.DateOnly), strings.Join(offered, ", "))
}
