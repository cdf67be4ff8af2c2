// esbuild bundles the style sheets the page imports into one .css file (src/page-build.ts).
declare module '*.css';
