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

// upgradeNotice is how long before the end of standard support the
// program warns that EKS will upgrade a STANDARD cluster: the AMI alias
// is pinned to the old minor, so Karpenter launches no node after the
// upgrade until both keys move.
const upgradeNotice = 60 * 24 * time.Hour

// checkEksVersion asks EKS which Kubernetes versions it offers, during
// preview as during update, and refuses edw:clusterVersion unless EKS
// offers it: a version in extended support only with
// edw:clusterSupportType EXTENDED, and then with a warning of its price.
// It warns as a STANDARD cluster's version nears its upgrade.
func checkEksVersion(ctx *pulumi.Context, version, supportType string, now time.Time) error {
	offered, err := awseks.GetClusterVersions(ctx, &awseks.GetClusterVersionsArgs{
		ClusterType: pulumi.StringRef("eks"), IncludeAll: pulumi.BoolRef(true),
	})
	if err != nil {
		return fmt.Errorf("%s:clusterVersion: asking EKS which versions it offers: %w", Namespace, err)
	}
	warning, err := eksVersionVerdict(version, supportType, offered.ClusterVersions, now)
	if err != nil || warning == "" {
		return err
	}
	return ctx.Log.Warn(warning, nil)
}

// eksVersionVerdict judges version against what EKS offers on day now:
// an error refuses it, a warning is what the user should know.
func eksVersionVerdict(version, supportType string, offered []awseks.GetClusterVersionsClusterVersion, now time.Time) (string, error) {
	var this *awseks.GetClusterVersionsClusterVersion
	var standard, extended []string
	for i, v := range offered {
		if v.ClusterVersion == version {
			this = &offered[i]
		}
		switch v.VersionStatus {
		case eksStandard:
			standard = append(standard, v.ClusterVersion)
		case eksExtended:
			extended = append(extended, v.ClusterVersion)
		}
	}
	slices.Sort(standard)
	slices.Sort(extended)
	switch {
	case this == nil || (this.VersionStatus != eksStandard && this.VersionStatus != eksExtended):
		return "", fmt.Errorf("%s:clusterVersion is %s, which EKS does not offer: set one of %s (standard support) or %s (extended support, at $%.2f a cluster-hour)",
			Namespace, version, strings.Join(standard, ", "), strings.Join(extended, ", "), eksExtendedUSD)
	case this.VersionStatus == eksExtended && supportType != supportExtended:
		return "", fmt.Errorf("%s:clusterVersion is %s, which EKS offers in extended support only, at $%.2f a cluster-hour instead of $%.2f: "+
			"set a version in standard support (%s), or accept the price with %s:clusterSupportType %s",
			Namespace, version, eksExtendedUSD, eksStandardUSD, strings.Join(standard, ", "), Namespace, supportExtended)
	case this.VersionStatus == eksExtended:
		return fmt.Sprintf("%s:clusterVersion %s is in EKS extended support: the control plane costs $%.2f an hour instead of $%.2f; "+
			"versions in standard support: %s", Namespace, version, eksExtendedUSD, eksStandardUSD, strings.Join(standard, ", ")), nil
	}
	end, err := time.Parse(time.DateOnly, this.EndOfStandardSupportDate)
	if err != nil || supportType != supportStandard || end.Sub(now) > upgradeNotice {
		return "", nil
	}
	return fmt.Sprintf("%s:clusterVersion %s leaves EKS standard support on %s, when EKS upgrades the control plane "+
		"(%s:clusterSupportType %s): move %s:clusterVersion, and %s:karpenterAmiAlias to an AMI release for the new minor, before then, "+
		"or Karpenter finds no AMI for its nodes", Namespace, version, end.Format(time.DateOnly), Namespace, supportStandard, Namespace, Namespace), nil
}

// aksVersion is a Kubernetes minor AKS offers as GA from ga, and the last
// day it does outside the Premium tier's long-term support.
type aksVersion struct {
	minor   string
	ga, end time.Time
}

// aksVersions are the minors AKS offers as GA, from the AKS
// supported-versions calendar (learn.microsoft.com, "Supported Kubernetes
// versions in Azure Kubernetes Service", checked 2026-12-04): each for 12
// months after its GA (1.37's GA in October 2026 as the calendar planned
// it in August). azure-native has no function that lists them, and
// the ARM API that does (managedClusters/kubernetesVersions) is not worth
// a second sign-in for a table that changes three times a year; a test
// holds the default in it, so that this table moves when AKS's does.
var aksVersions = []aksVersion{
	{"1.35", date(2026, time.March, 1), date(2027, time.March, 31)},
	{"1.36", date(2026, time.June, 1), date(2027, time.June, 30)},
	{"1.37", date(2026, time.October, 1), date(2027, time.October, 31)},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// checkAksVersion refuses a version AKS does not offer on day now.
func checkAksVersion(version string, now time.Time) error {
	var offered []string
	for _, v := range aksVersions {
		if now.Before(v.ga) || now.After(v.end) {
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
