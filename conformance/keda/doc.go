// Package keda holds the rendered KEDA triggers to KEDA's own scaler code:
// the aws-sqs-queue and azure-queue scalers are built from the ScaledObject
// and TriggerAuthentication the program renders, at the KEDA version the
// stacks deploy, and must report the queue length the emulators hold.
//
// It is its own module, so that the program does not carry KEDA's
// dependencies.
package keda
