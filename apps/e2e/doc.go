// Package e2e runs the producer and consumer commands against the storage
// emulators (scripts/emulators.sh) for both clouds: end to end, crash,
// store outage, poison, shutdown and bad-settings cases, plus the
// throughput benchmark. Without emulators the tests skip, except under
// CI=true, where they fail.
package e2e
