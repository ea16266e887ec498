/**
 * IsolatedSubject: a subscriber that throws (or rejects) is caught and reported once
 * through the subject's hook, never reaches the other subscribers or the emitter, and
 * never becomes an uncaught exception or unhandled rejection, whether it subscribed
 * directly, through `pipe(...)` or through `asObservable()`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filter, firstValueFrom, map, Subject } from 'rxjs';
import { SubscriberError, TaskbufferError } from '../ts/index.js';
import { IsolatedSubject } from '../ts/internal/isolatedsubject.js';
import { catchStrayErrors } from './stray-error-helpers.js';

interface IEvent {
  type: string;
  n: number;
}

/** A subject whose reports land in `reports`. */
function isolated(): { subject: IsolatedSubject<IEvent>; reports: SubscriberError[] } {
  const reports: SubscriberError[] = [];
  return { subject: new IsolatedSubject<IEvent>('Test.subject', (error) => reports.push(error)), reports };
}

const emit = (subject: Subject<IEvent>, ...ns: number[]) => {
  for (const n of ns) subject.next({ type: 'tick', n });
};

describe('IsolatedSubject', () => {
  test('the harness sees what a plain rxjs Subject does: its subscriber\'s error is rethrown on a timer', async (t) => {
    const strays = catchStrayErrors(t);
    const plain = new Subject<IEvent>();
    plain.subscribe(() => {
      throw new Error('dashboard bug');
    });
    emit(plain, 1);
    await assert.rejects(strays.assertNone(), /dashboard bug/);
  });

  test('a subscriber that throws does not stop the subscribers after it, stays subscribed and is reported once', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    const before: number[] = [];
    const throwerSaw: number[] = [];
    const after: number[] = [];
    const boom = new Error('dashboard bug');
    subject.subscribe((event) => before.push(event.n));
    subject.subscribe((event) => {
      throwerSaw.push(event.n);
      throw boom;
    });
    subject.subscribe((event) => after.push(event.n));

    emit(subject, 1, 2, 3);

    assert.deepEqual(before, [1, 2, 3]);
    assert.deepEqual(throwerSaw, [1, 2, 3], 'the throwing subscriber stays subscribed');
    assert.deepEqual(after, [1, 2, 3]);
    assert.equal(reports.length, 1, 'reported once, not once per event');
    const [report] = reports;
    assert.ok(report instanceof SubscriberError);
    assert.ok(report instanceof TaskbufferError);
    assert.equal(report.name, 'SubscriberError');
    assert.equal(report.code, 'SUBSCRIBER_FAILED');
    assert.equal(report.subjectName, 'Test.subject');
    assert.equal(report.notification, 'next');
    assert.equal(report.eventType, 'tick');
    assert.equal(report.cause, boom);
    assert.match(report.message, /Test\.subject.*"tick".*dashboard bug/);
    await strays.assertNone();
  });

  test('each throwing subscriber is reported on its own first error', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    subject.subscribe(() => {
      throw new Error('first');
    });
    subject.subscribe((event) => {
      if (event.n === 2) throw new Error('second');
    });
    emit(subject, 1, 2, 3);
    assert.deepEqual(reports.map((error) => (error.cause as Error).message), ['first', 'second']);
    await strays.assertNone();
  });

  test('a subscriber through pipe(filter, map) that throws is isolated and reported once', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    const others: number[] = [];
    subject.pipe(filter((event) => event.n > 1), map((event) => event.n * 10)).subscribe(() => {
      throw new Error('piped subscriber bug');
    });
    subject.subscribe((event) => others.push(event.n));
    emit(subject, 1, 2, 3);
    assert.deepEqual(others, [1, 2, 3]);
    assert.equal(reports.length, 1);
    assert.equal((reports[0]!.cause as Error).message, 'piped subscriber bug');
    await strays.assertNone();
  });

  test('an operator in a pipe that throws, with no error handler, is reported instead of rethrown', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    const others: number[] = [];
    subject.pipe(map((event) => {
      if (event.n === 2) throw new Error('operator bug');
      return event.n;
    })).subscribe(() => undefined);
    subject.subscribe((event) => others.push(event.n));
    emit(subject, 1, 2, 3);
    assert.deepEqual(others, [1, 2, 3]);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.notification, 'error');
    assert.equal(reports[0]!.eventType, undefined);
    assert.equal((reports[0]!.cause as Error).message, 'operator bug');
    await strays.assertNone();
  });

  test('a subscriber through asObservable() that throws is isolated', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    const seen: number[] = [];
    subject.asObservable().subscribe((event) => {
      seen.push(event.n);
      throw new Error('read-only view bug');
    });
    emit(subject, 1, 2);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(reports.length, 1);
    await strays.assertNone();
  });

  test('an async subscriber whose promise rejects is reported, with no unhandled rejection', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    subject.subscribe(async () => {
      throw new Error('async bug');
    });
    emit(subject, 1, 2);
    await strays.assertNone();
    assert.equal(reports.length, 1);
    assert.equal((reports[0]!.cause as Error).message, 'async bug');
  });

  test('an error handler or a complete handler that throws is reported', async (t) => {
    const strays = catchStrayErrors(t);
    const failing = isolated();
    failing.subject.subscribe({ error: () => { throw new Error('error handler bug'); } });
    failing.subject.error(new Error('upstream'));
    assert.deepEqual(failing.reports.map((error) => [error.notification, (error.cause as Error).message]), [['error', 'error handler bug']]);

    const completing = isolated();
    completing.subject.subscribe({ complete: () => { throw new Error('complete handler bug'); } });
    completing.subject.complete();
    assert.deepEqual(completing.reports.map((error) => [error.notification, (error.cause as Error).message]), [['complete', 'complete handler bug']]);
    await strays.assertNone();
  });

  test('a hook that throws is caught and both errors go to console.error', async (t) => {
    const strays = catchStrayErrors(t);
    const logged = t.mock.method(console, 'error', () => undefined);
    const subject = new IsolatedSubject<IEvent>('Test.subject', () => {
      throw new Error('hook bug');
    });
    const seen: number[] = [];
    subject.subscribe(() => {
      throw new Error('subscriber bug');
    });
    subject.subscribe((event) => seen.push(event.n));
    emit(subject, 1, 2);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(logged.mock.callCount(), 1);
    const logText = logged.mock.calls[0]!.arguments.map((argument) => (argument instanceof Error ? argument.message : String(argument))).join(' ');
    assert.match(logText, /Test\.subject/);
    assert.match(logText, /hook bug/);
    assert.match(logText, /subscriber bug/);
    await strays.assertNone();
  });

  test('observer methods are called on the observer, so `this` is the object that subscribed', () => {
    const { subject, reports } = isolated();
    const observer = {
      seen: [] as number[],
      next(this: { seen: number[] }, event: IEvent) {
        this.seen.push(event.n);
      },
    };
    subject.subscribe(observer);
    emit(subject, 7);
    assert.deepEqual(observer.seen, [7]);
    assert.deepEqual(reports, []);
  });

  test('rxjs\'s own subscribers pass through: firstValueFrom resolves, and observed follows subscribing and unsubscribing', async () => {
    const { subject } = isolated();
    assert.equal(subject.observed, false);
    const first = firstValueFrom(subject.pipe(map((event) => event.n)));
    assert.equal(subject.observed, true);
    emit(subject, 5);
    assert.equal(await first, 5);
    assert.equal(subject.observed, false, 'firstValueFrom unsubscribed');

    const piped = subject.pipe(filter(() => true)).subscribe(() => undefined);
    const direct = subject.subscribe(() => undefined);
    assert.equal(subject.observed, true);
    piped.unsubscribe();
    direct.unsubscribe();
    assert.equal(subject.observed, false);
  });

  test('subscribe with separate callbacks (the deprecated form) is isolated as well', async (t) => {
    const strays = catchStrayErrors(t);
    const { subject, reports } = isolated();
    subject.pipe(map(() => { throw new Error('operator bug'); })).subscribe(null, null, () => undefined);
    emit(subject, 1);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.notification, 'error');
    await strays.assertNone();
  });
});
