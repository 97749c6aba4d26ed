// Runs a batch of IAM simulations with @cloud-copilot/iam-simulate (Strict mode).
//
// stdin: a JSON array of iam-simulate `Simulation` objects.
// stdout: a JSON array, one entry per simulation, in order:
//   {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "Error",
//    "errors": <validation errors or null>, "ignoredContextKeys": [...], "resourceType": "...",
//    "denials": [{"policyType", "denialType", "statementId", "statementIndex"}...],
//    "grants": [{"policyType", "policyIdentifier", "statementId", "statementIndex"}...]}
// One process serves a whole test session (tests/support/rehearsal/policies.py batches the calls).
import { getDenialReasons, getGrantReasons, runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

function summarize(response) {
  if (response.resultType === 'error') {
    return { result: 'Error', errors: response.errors, ignoredContextKeys: [], denials: [], grants: [] }
  }
  // A concrete resource ARN always gives one result; a wildcard ARN is a caller mistake.
  const single = response.resultType === 'single' ? response.result : response.results[0]
  if (!single) {
    return { result: 'Error', errors: { message: 'no simulation result' }, ignoredContextKeys: [], denials: [], grants: [] }
  }
  const analysis = single.analysis
  return {
    result: response.overallResult,
    errors: null,
    ignoredContextKeys: single.ignoredContextKeys ?? [],
    resourceType: single.resourceType ?? null,
    denials: response.overallResult === 'Allowed' ? [] : getDenialReasons(analysis),
    grants: response.overallResult === 'Allowed' ? getGrantReasons(analysis) : [],
  }
}

const simulations = JSON.parse(await readStdin())
const results = []
for (const simulation of simulations) {
  results.push(summarize(await runSimulation(simulation, { simulationMode: 'Strict' })))
}
process.stdout.write(JSON.stringify(results))
