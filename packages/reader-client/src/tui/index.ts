/**
 * @opc-lite/reader-client/tui — the terminal chart as a widget another
 * program can mount in its own blessed screen or blessed-contrib grid, and a
 * ready dashboard built from it. Only this subpath loads blessed.
 */
export { CHART_DEFAULTS, createChart } from './chart.js';
export type { Chart, ChartGrid, ChartGridCell, ChartOptions } from './chart.js';
export { createDashboard, formatFigure, tableText } from './dashboard.js';
export type { Dashboard, DashboardClient, DashboardOptions } from './dashboard.js';
export type { ChartPoint, SeriesStats } from './series.js';
