export { DASHBOARD_SECTIONS, dashboardPlugin } from './plugin.js';
