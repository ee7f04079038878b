// The tool's name and version as reports name it (SARIF driver, JUnit suites); the version is package.json's,
// which test/unit/report/interchange.test.ts holds equal.

export const TOOL_NAME = 'irsa-auditor';
export const TOOL_VERSION = '0.1.0';
