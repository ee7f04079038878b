import { auditCluster } from './lambda/core/engine/audit-cluster';
for (const name of process.argv.slice(2)) {
  const f = (await import(`./test/fixtures/checks/${name}.ts`)).default;
  const r: any = auditCluster(f.state, { now: new Date('2026-11-28T12:00:00Z') } as never);
  for (const x of r.report.findings.filter((x: any) => x.check === 'IRSA-' + name.split('/')[0].slice(5).toUpperCase())) console.log(x.message, '\n  FIX:', x.remediation, '\n');
}
