// Learning-rate schedule: linear warm-up, then constant or cosine decay to a floor.
export type DecaySchedule = 'constant' | 'cosine';

export interface ScheduleConfig {
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly schedule: DecaySchedule;
  readonly steps: number;
  /** Cosine floor as a fraction of the peak rate. */
  readonly minLearningRateRatio: number;
}

/** The learning rate for 1-based step t. */
export function learningRateAt(c: ScheduleConfig, t: number): number {
  const warm = c.warmupSteps > 0 ? Math.min(1, t / c.warmupSteps) : 1;
  if (c.schedule === 'constant' || t <= c.warmupSteps) return c.learningRate * warm;
  const progress = Math.min(1, (t - c.warmupSteps) / Math.max(1, c.steps - c.warmupSteps));
  const floor = c.minLearningRateRatio;
  return c.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
