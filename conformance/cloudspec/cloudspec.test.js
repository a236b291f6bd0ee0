// Holds the stand-ins' replacement table, engine/standin/replaces.json, to
// the cloud's own rule: the create-only properties of the AWS
// CloudFormation resource schemas, as @aws-cdk/aws-service-spec carries
// them (a property, or a property of a property type, whose change
// causes replacement). For every AWS type of the program:
//
//   - every create-only property of its CloudFormation type is mapped to
//     the pulumi-aws inputs it is, so that a rule AWS adds upstream fails
//     here until someone says what it is in pulumi-aws;
//   - no mapped property has stopped being create-only;
//   - every mapped input the program sets (the render's inputs, and the
//     table's "sets" for what the render cannot show) replaces in the
//     table, unless the table records that pulumi-aws updates it in place.
//
// The renders are build/render/**/resources.json (make render), or those
// under $EDW_RENDER_DIR.

'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadAwsServiceSpecSync } = require('@aws-cdk/aws-service-spec');

const root = path.resolve(__dirname, '..', '..');
const table = JSON.parse(fs.readFileSync(path.join(root, 'engine/standin/replaces.json'), 'utf8')).types;
const renderDir = process.env.EDW_RENDER_DIR || path.join(root, 'build/render');
const renderFile = path.join(renderDir, 'aws/resources.json');
assert.ok(fs.existsSync(renderFile), `${renderFile} is missing: run make render`);
// Every render counts, the stacks' and their variants' (build/render/variants/<name>).
const rendered = fs.readdirSync(renderDir, { recursive: true })
  .filter((f) => path.basename(f) === 'resources.json')
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(renderDir, f), 'utf8')).resources);
const db = loadAwsServiceSpecSync();

// inputPaths are the paths into objects ("a", "a.b") of the inputs the
// program sets on each type, across its resources.
function inputPaths() {
  const byType = new Map();
  const walk = (value, prefix, into) => {
    for (const [k, v] of Object.entries(value)) {
      const p = prefix ? `${prefix}.${k}` : k;
      into.add(p);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(v, p, into);
      }
    }
  };
  for (const r of rendered) {
    if (!r.custom || !r.type.startsWith('aws:')) {
      continue;
    }
    if (!byType.has(r.type)) {
      byType.set(r.type, new Set());
    }
    walk(r.inputs || {}, '', byType.get(r.type));
  }
  return byType;
}

// createOnly lists the paths ("A", "A/B") of a CloudFormation resource's
// properties that cause replacement, leaving out those under a path that
// does already.
function createOnly(resource) {
  const paths = [];
  const walk = (props, prefix, seen) => {
    for (const [name, prop] of Object.entries(props || {})) {
      const p = [...prefix, name];
      if (prop.causesReplacement === 'yes' || prop.causesReplacement === 'maybe') {
        paths.push(p.join('/'));
        continue;
      }
      let type = prop.type;
      while (type && (type.type === 'array' || type.type === 'map')) {
        type = type.element;
      }
      if (type && type.type === 'ref' && !seen.has(type.reference.$ref)) {
        const def = db.get('typeDefinition', type.reference.$ref);
        walk(def.properties, p, new Set([...seen, type.reference.$ref]));
      }
    }
  };
  walk(resource.properties, [], new Set());
  for (const p of resource.additionalReplacementProperties || []) {
    paths.push(p.join('/'));
  }
  return paths;
}

const sets = inputPaths();

test('every AWS type the program creates has an entry in replaces.json', () => {
  for (const type of sets.keys()) {
    assert.ok(table[type], `${type}: the program creates it but replaces.json has no entry`);
  }
});

for (const [type, entry] of Object.entries(table)) {
  if (!type.startsWith('aws:') || !entry.cfn) {
    continue;
  }
  test(`${type} against ${entry.cfn.type}`, () => {
    const found = db.lookup('resource', 'cloudFormationType', 'equals', entry.cfn.type);
    assert.equal(found.length, 1, `${entry.cfn.type}: not in @aws-cdk/aws-service-spec`);
    const upstream = createOnly(found[0]);
    const map = entry.cfn.map;
    const inPlace = entry.inPlace || {};
    for (const p of upstream) {
      assert.ok(p in map, `${type}: ${entry.cfn.type}.${p} is create-only upstream but not in replaces.json's cfn.map: map it to the pulumi-aws input(s) it is ([] for none), then to replaceOn or inPlace`);
    }
    for (const p of Object.keys(map)) {
      assert.ok(upstream.includes(p), `${type}: replaces.json maps ${entry.cfn.type}.${p}, which is no longer create-only upstream`);
    }
    const set = new Set([...(sets.get(type) || []), ...(entry.sets || [])]);
    const isSet = (name) => set.has(name) || [...set].some((s) => s.startsWith(`${name}.`));
    for (const [p, names] of Object.entries(map)) {
      if (p in inPlace) {
        continue;
      }
      for (const name of names) {
        if (isSet(name)) {
          assert.ok(entry.replaceOn.includes(name),
            `${type}: the program sets ${name}, which is ${entry.cfn.type}.${p} (create-only), but replaceOn lacks it (or inPlace says why pulumi-aws updates it)`);
        }
      }
    }
  });
}
