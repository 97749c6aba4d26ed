// Plain JavaScript aws-cdk-lib re-synthesizing templates: the yardstick for the Python synth.
//
// node bench/resynth.js <assembly dir> <out dir> <context json file>
//
// Every stack template of the assembly is included with aws-cdk-lib's cloudformation-include
// into a stack of the same name, account and Region, and synthesized with the same context
// (feature flags); aws-cdk-lib's built-in CloudFormation validation runs unless
// CDK_VALIDATION=false, exactly as for the Python app. Resolves aws-cdk-lib and constructs from
// NODE_PATH (bench/run.py points it at the very packages jsii runs for Python).
"use strict";
const fs = require("fs");
const path = require("path");
const cdk = require("aws-cdk-lib");
const { CfnInclude } = require("aws-cdk-lib/cloudformation-include");

const [assemblyDir, outdir, contextFile] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, "manifest.json"), "utf8"));
const context = JSON.parse(fs.readFileSync(contextFile, "utf8"));
const app = new cdk.App({ outdir, context, analyticsReporting: false });
for (const [name, artifact] of Object.entries(manifest.artifacts)) {
  if (artifact.type !== "aws:cloudformation:stack") continue;
  const [account, region] = artifact.environment.replace("aws://", "").split("/");
  const stack = new cdk.Stack(app, name, {
    env: { account, region },
    synthesizer: new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  const template = path.join(assemblyDir, artifact.properties.templateFile);
  new CfnInclude(stack, "Template", { templateFile: template });
}
app.synth();
