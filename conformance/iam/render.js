// The AWS stack as the program renders it offline (cmd/render): every IAM
// policy document it would send to AWS, classified by what AWS does with it,
// and the ARNs of the stack's own resources for the simulations.

import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The renders checked: the stack as configured, and with EKS Auto Mode
// instead of an installed Karpenter (edw:karpenterMode auto), which drops
// the controller's role and queue. The Makefile's render target writes both.
export const renderDir = resolve(process.env.EDW_RENDER_DIR || join(dirname(fileURLToPath(import.meta.url)), '../../build/render'))
export const variants = [
  { name: 'aws', dir: join(renderDir, 'aws'), karpenter: 'controller' },
  { name: 'aws (karpenterMode auto)', dir: join(renderDir, 'variants', 'aws-auto'), karpenter: 'auto' }
]

// Where each resource type keeps its policy documents, and what kind each
// is: IAM validates and evaluates them differently.
const policyInputs = {
  'aws:iam/role:Role': { assumeRolePolicy: 'trust', inlinePolicies: 'identity' },
  'aws:iam/rolePolicy:RolePolicy': { policy: 'identity' },
  'aws:iam/policy:Policy': { policy: 'identity' },
  'aws:sqs/queue:Queue': { policy: 'resource' },
  'aws:sqs/queuePolicy:QueuePolicy': { policy: 'resource' },
  'aws:sns/topic:Topic': { policy: 'resource' },
  'aws:sns/topicPolicy:TopicPolicy': { policy: 'resource' },
  'aws:kms/key:Key': { policy: 'resource' }
}

// Markers the render writes for values it cannot know or must not show.
const markers = ['[unknown]', '[secret]']

export function loadStack(variant) {
  const file = join(variant.dir, 'resources.json')
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run "make render" first`)
  }
  const { resources, outputs } = JSON.parse(readFileSync(file, 'utf8'))
  const region = outputs.region
  const account = outputs.consumerRoleArn.split(':')[4]
  const documents = []
  const unclassified = []
  for (const r of resources) {
    const where = `${r.type} ${r.name}`
    const known = policyInputs[r.type] || {}
    for (const [input, value] of Object.entries(r.inputs || {})) {
      if (known[input] === undefined) {
        // A policy anywhere else is one this check does not see yet.
        if (JSON.stringify(value).includes('Statement')) unclassified.push(`${where} ${input}`)
        continue
      }
      const list = input === 'inlinePolicies' ? value.map((p) => [`${input}.${p.name}`, p.policy]) : [[input, value]]
      for (const [name, text] of list) {
        documents.push({ where: `${where} ${name}`, resource: r, kind: known[input], text, doc: parse(text) })
      }
    }
  }
  const podIdentityRoles = new Set(
    resources.filter((r) => r.type === 'aws:eks/podIdentityAssociation:PodIdentityAssociation').map((r) => r.inputs.roleArn.split('/').pop())
  )
  return { variant, resources, outputs, region, account, documents, unclassified, podIdentityRoles, arns: stackArns(resources, outputs, region, account) }
}

function parse(text) {
  if (typeof text !== 'string' || markers.some((m) => text.includes(m))) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const queueArn = (url) => {
  const u = new URL(url)
  const [, account, name] = u.pathname.split('/')
  return `arn:aws:sqs:${u.hostname.split('.')[1]}:${account}:${name}`
}

// The stack's own resources, from its outputs and inputs: what each
// identity must be allowed on, and nothing else.
function stackArns(resources, outputs, region, account) {
  const one = (type) => resources.find((r) => r.type === type)
  const arn = (service, resource) => `arn:aws:${service}:${region}:${account}:${resource}`
  const a = {
    queue: queueArn(outputs.queueUrl),
    deadLetterQueue: queueArn(outputs.deadLetterQueueUrl),
    table: arn('dynamodb', `table/${outputs.tableName}`),
    cluster: arn('eks', `cluster/${outputs.clusterName}`),
    topic: outputs.alertTopicArn,
    topicKey: one('aws:sns/topic:Topic')?.inputs.kmsMasterKeyId,
    workspace: one('aws:amp/scraper:Scraper')?.inputs.destination.amp.workspaceArn,
    roles: Object.fromEntries(resources.filter((r) => r.type === 'aws:iam/role:Role').map((r) => [r.name, `arn:aws:iam::${account}:role/${r.name}`]))
  }
  if (outputs.interruptionQueueName) {
    a.interruptionQueue = arn('sqs', outputs.interruptionQueueName)
    a.nodeRole = `arn:aws:iam::${account}:role/${outputs.karpenterNodeRoleName}`
  }
  return a
}

// Identities: each role with the policies attached to it, and the service
// account that assumes it through EKS Pod Identity.
export function identities(stack) {
  const byRole = new Map()
  for (const r of stack.resources.filter((r) => r.type === 'aws:iam/role:Role')) {
    byRole.set(r.name, { role: r.name, arn: stack.arns.roles[r.name], trust: parse(r.inputs.assumeRolePolicy), policies: [], managed: [] })
  }
  // The render's role ids are "<name>-id"; AWS's are the role's name.
  const roleOf = (ref) => byRole.get(ref) || byRole.get(String(ref).replace(/-id$/, ''))
  for (const r of stack.resources) {
    if (r.type === 'aws:iam/rolePolicy:RolePolicy') {
      roleOf(r.inputs.role).policies.push({ name: r.name, policy: parse(r.inputs.policy) })
    } else if (r.type === 'aws:iam/rolePolicyAttachment:RolePolicyAttachment') {
      roleOf(r.inputs.role).managed.push(r.inputs.policyArn)
    } else if (r.type === 'aws:eks/podIdentityAssociation:PodIdentityAssociation') {
      const id = [...byRole.values()].find((i) => i.arn === r.inputs.roleArn)
      id.serviceAccount = `${r.inputs.namespace}/${r.inputs.serviceAccount}`
    }
  }
  return [...byRole.values()]
}

// The resource policy IAM evaluates beside an identity's for a request on
// resource, if the stack gives it one.
export function resourcePolicyFor(stack, resource) {
  for (const d of stack.documents.filter((d) => d.kind === 'resource')) {
    const i = d.resource.inputs
    const target = i.queueUrl
      ? queueArn(i.queueUrl)
      : d.resource.type === 'aws:kms/key:Key'
        ? `arn:aws:kms:${stack.region}:${stack.account}:key/${d.resource.name}`
        : i.arn
    if (target === resource) return d.doc
  }
  return undefined
}
