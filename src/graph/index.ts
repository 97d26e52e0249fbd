export * from './types.js';
export { planBuild, type PlanOptions } from './plan.js';
