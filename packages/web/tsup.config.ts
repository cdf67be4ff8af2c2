import { libraryConfig } from '../../tsup.shared.ts';
import { buildPage } from './src/page-build.ts';

// The library, then the page (src/page) bundled with uPlot into dist/page, which the library serves at `/`.
// `shims` gives the CommonJS build the import.meta.url it finds dist/page by.
export default libraryConfig(
  { index: 'src/index.ts' },
  {
    shims: true,
    onSuccess: async () => {
      await buildPage({ srcDir: 'src/page', outDir: 'dist/page' });
    },
  },
);
