// Package versions is the one table of every version edw pins: what the
// stacks deploy, what the lab runs to stand in for it, and what the
// checks read. The program reads these constants; the Makefile reads them
// from this file; a test holds the lab's and the checks' go.mod files and
// the version table of docs/configuration.md to them. Each choice gives its
// reason and the day it was made: move one only against the compatibility
// sources named here.
package versions

// Kubernetes is the clusters' default minor (edw:clusterVersion), chosen
// 2026-12-04: the newest minor in standard support on both EKS (1.36 from
// 2026-06-02 to 2027-08-02; 1.34 left standard support on 2026-12-02, 1.35
// leaves it on 2027-03-27, EKS Kubernetes version calendar) and AKS (1.36
// GA from June 2026 to June 2027, AKS supported-versions calendar), and
// the newest Karpenter and KEDA support. 1.37 is out upstream, but no
// Karpenter release lists it.
const Kubernetes = "1.36"

// Karpenter is the Karpenter release the AWS stack installs (the karpenter
// and karpenter-crd charts, the EC2NodeClass and NodePool CRDs the
// manifests are checked against, the controller policy it is held to) and
// the lab runs (sigs.k8s.io/karpenter's kwok provider), chosen 2026-12-04:
// Karpenter supports Kubernetes 1.36 from 1.13 (karpenter-provider-aws,
// docs/upgrading/compatibility.md); 1.14.0 is the newest whose modules
// build with Go 1.26.8 (1.14.3 and 1.15 need Go 1.26.9 or later).
const Karpenter = "1.14.0"

// KarpenterAzure is the Azure Karpenter provider whose AKSNodeClass CRD
// the Azure stack's node class is checked against; AKS runs its own
// Karpenter for node auto-provisioning, whose version AKS sets with the
// cluster's (1.12.2-aks on 1.36). 1.6.3 is the newest the module proxy
// serves with that CRD, checked 2026-12-04.
const KarpenterAzure = "1.6.3"

// AMIAlias is the EC2NodeClass AMI alias of Karpenter's nodes
// (edw:karpenterAmiAlias), chosen 2026-12-04: the EKS AL2023 AMI release
// v20260903 is built for Kubernetes 1.36 (1.36.3-20260903,
// awslabs/amazon-eks-ami releases).
const AMIAlias = "al2023@v20260903"

// Keda is the KEDA release the AWS stack installs (its chart and CRDs)
// and the lab and the trigger checks run (github.com/kedacore/keda/v2),
// chosen 2026-12-04: KEDA 2.21 is tested on Kubernetes 1.34 to 1.36
// (keda.sh, "Kubernetes compatibility"); 2.21.1 needs Go 1.27. The AKS
// add-on's KEDA is set by AKS with the cluster's version.
const Keda = "2.21.0"

// LabKubernetes is the k8s.io/kubernetes release the lab's control plane
// is built from, and whose OpenAPI (api/openapi-spec/v3) the manifests'
// built-in kinds are checked against: the clusters' minor, chosen
// 2026-12-04. (kubectl-validate v0.0.4, the newest the module proxy
// serves, bundles schemas up to 1.30 only.)
const LabKubernetes = "1.36.5"

// Kwok is the kwok release the lab runs its nodes with: the newest, built
// against client-go 0.36, chosen 2026-12-04.
const Kwok = "0.8.0"
