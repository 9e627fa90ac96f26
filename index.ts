// Where Pulumi's component analyzer starts (`pulumi package add`, PulumiPlugin.yaml): it infers
// the package's schema for other languages from the TypeScript sources, which it looks for at
// package.json's `exports` or `main` with .ts for .js (dist/components/index.ts: none), else at
// ./index.ts, this file. It exports what the main module does; Node loads `main` itself.
export * from "./components";
