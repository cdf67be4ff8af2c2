import { libraryConfig } from '../../tsup.shared.ts';

// Two entries: the plain client, and ./tui, which alone loads blessed and blessed-contrib.
export default libraryConfig(
  { index: 'src/index.ts', tui: 'src/tui/index.ts' },
  { external: ['blessed', 'blessed-contrib'] },
);
