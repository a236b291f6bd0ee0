// Package standin is a set of stand-in provider plugins for the packages
// whose clouds are out of reach of the engine tests: aws, azure-native, eks
// and docker-build. Each is a real plugin process speaking the provider
// gRPC protocol, so the real Pulumi engine drives it exactly as it drives
// the real providers: check, diff, create, read, update, delete, invoke and
// construct.
//
// What a stand-in models is the state a cloud would keep, not the cloud's
// behaviour: every live resource with its id and outputs, shaped like the
// real ones (ARNs, ARM ids, queue URLs, auto-generated names), kept in
// $EDW_STANDIN_STATE/<package>.json, and every call appended to
// <package>.calls.jsonl for the tests to assert on. Lookups of things that
// were never created fail, as they do in the cloud.
//
// It refuses what the cloud refuses at create and a mock would accept:
// policy documents whose statements name a principal where AWS forbids one,
// or none where AWS requires one, an ECR tag moved to another digest, and a
// reference (an id, name, URL or ARN of the stack's account) that names no
// live resource where the cloud resolves it at create (aws_refs.go,
// azure_refs.go).
// It makes what the cloud makes on its own (EKS's log group) and what
// pulumi-eks makes by default (its managed add-ons). For an AKS cluster
// with local accounts off it hands out AKS's exec kubeconfig, and the
// binary, named kubelogin, stands in for Entra ID's sign-in (entra.go).
//
// What it does not model: other validation of inputs, eventual
// consistency, quotas, permissions but the AKS cluster role, and anything
// that runs (no cluster, node, queue or image exists; the kubeconfig the
// clusters hand out is the one of the local test apiserver in
// $EDW_STANDIN_KUBECONFIG). Only the keys the program sets that the real
// cloud cannot change in place force a replacement.
package standin
