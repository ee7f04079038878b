// The audit's EventBridge schedule (context `schedule`): validated here, at synth, because EventBridge only
// rejects a bad expression at deploy time, after the rest of the stack was already created.

/** A valid EventBridge schedule expression and, for `rate(...)`, the time between runs. */
export interface AuditSchedule {
  readonly expression: string;
  /** Seconds between two runs for `rate(...)`; undefined for `cron(...)`, whose runs need not be evenly spaced. */
  readonly intervalSeconds?: number;
}

const UNIT_SECONDS = { minute: 60, hour: 3600, day: 86_400 } as const;

// EventBridge rules: "rate(value unit)" where "if the value is equal to 1, then the unit must be singular.
// If the value is greater than 1, the unit must be plural".
const RATE = /^rate\((\d+) (minute|hour|day)(s?)\)$/;
const CRON = /^cron\((.*)\)$/;
// The six fields of an EventBridge cron expression, in order, and the characters each accepts.
const CRON_FIELDS: readonly (readonly [string, RegExp])[] = [
  ['minutes', /^[0-9,*/-]+$/],
  ['hours', /^[0-9,*/-]+$/],
  ['day-of-month', /^[0-9,*?/LW-]+$/],
  ['month', /^[0-9A-Za-z,*/-]+$/],
  ['day-of-week', /^[0-9A-Za-z,*?L#-]+$/],
  ['year', /^[0-9,*/-]+$/],
];

/** Parses an EventBridge schedule expression; returns the reason it is not one as a string. */
export function parseSchedule(text: string): AuditSchedule | string {
  const rate = RATE.exec(text);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = rate[2] as keyof typeof UNIT_SECONDS;
    const plural = rate[3] === 's';
    if (value < 1) return 'a rate must be at least 1';
    if (value === 1 && plural) return `EventBridge wants "rate(1 ${unit})" (singular unit for 1)`;
    if (value > 1 && !plural) return `EventBridge wants "rate(${value} ${unit}s)" (plural unit above 1)`;
    return { expression: text, intervalSeconds: value * UNIT_SECONDS[unit] };
  }
  const cron = CRON.exec(text);
  if (cron !== null) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== CRON_FIELDS.length)
      return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`;
    for (const [index, [name, allowed]] of CRON_FIELDS.entries()) {
      const field = fields[index] ?? '';
      if (!allowed.test(field)) return `cron field ${name} "${field}" is not valid`;
    }
    // "You can't specify the Day-of-month and Day-of-week fields in the same cron expression. If you specify
    // a value or a * in one of the fields, you must use a ? in the other."
    if ((fields[2] === '?') === (fields[4] === '?'))
      return 'exactly one of day-of-month and day-of-week must be "?"';
    return { expression: text };
  }
  return 'not an EventBridge schedule expression: use rate(N minute[s]|hour[s]|day[s]) or cron(6 fields)';
}

// CloudWatch alarms accept periods up to one day (period × evaluation periods ≤ 86,400 s).
const MAX_PERIOD_SECONDS = 86_400;
const MIN_PERIOD_SECONDS = 60;
// A cron schedule's runs need not be evenly spaced; an hour keeps alarms and graphs responsive.
const CRON_PERIOD_SECONDS = 3600;

/**
 * The period of the audit's metrics in alarms and graphs: one run per period (the time between runs, within
 * what CloudWatch alarms accept), so each period holds the latest run's value.
 */
export function metricPeriodSeconds(schedule: AuditSchedule): number {
  if (schedule.intervalSeconds === undefined) return CRON_PERIOD_SECONDS;
  return Math.min(Math.max(schedule.intervalSeconds, MIN_PERIOD_SECONDS), MAX_PERIOD_SECONDS);
}
