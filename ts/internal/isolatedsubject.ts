import { Observable, Subject, Subscriber, Subscription, type Observer, type Operator } from 'rxjs';
import { SubscriberError, type TSubscriberNotification } from '../errors.js';

/** Where a subject's subscriber errors go; it must not throw (if it does, console.error gets both). */
export type TSubscriberErrorReport = (error: SubscriberError) => void;

type TObserverOrNext<T> = Partial<Observer<T>> | ((value: T) => void) | null | undefined;
type TErrorHandler = ((error: any) => void) | null | undefined;
type TCompleteHandler = (() => void) | null | undefined;

/**
 * A Subject whose subscribers cannot hurt anyone. rxjs rethrows a subscriber's error on a
 * timer, which in Node is an uncaughtException that ends the process: one buggy dashboard
 * subscriber would take a service down. Here each subscriber's handlers are wrapped, so
 * its error (or its promise's rejection) is caught and reported once through `report`,
 * and it stays subscribed. `subscribe`, `pipe(...)` and `asObservable()` are covered;
 * rxjs's own Subscribers (operators, `firstValueFrom`) pass through untouched.
 *
 * `next` and `observed` are Subject's own: emitting costs what it did, nothing is
 * allocated per event. Observables built from it by other means (`merge`, `from`) are
 * rxjs's and keep rxjs's default.
 * @internal
 */
export class IsolatedSubject<T> extends Subject<T> {
  constructor(
    private readonly subjectName: string,
    private readonly report: TSubscriberErrorReport,
  ) {
    super();
  }

  override subscribe(observerOrNext?: TObserverOrNext<T>, error?: TErrorHandler, complete?: TCompleteHandler): Subscription {
    return super.subscribe(isolate(observerOrNext, error, complete, this.subjectName, this.report));
  }

  /** `pipe` builds on this: the chain's end subscriber is isolated as well. */
  override lift<R>(operator: Operator<T, R>): Observable<R> {
    return new IsolatedObservable<R>(this, operator, this.subjectName, this.report);
  }

  override asObservable(): Observable<T> {
    return new IsolatedObservable<T>(this, undefined, this.subjectName, this.report);
  }
}

/** A piped (or `asObservable`) view of an IsolatedSubject that isolates its subscribers too. */
class IsolatedObservable<T> extends Observable<T> {
  constructor(
    source: Observable<unknown>,
    operator: Operator<unknown, T> | undefined,
    private readonly subjectName: string,
    private readonly report: TSubscriberErrorReport,
  ) {
    super();
    this.source = source;
    this.operator = operator;
  }

  override subscribe(observerOrNext?: TObserverOrNext<T>, error?: TErrorHandler, complete?: TCompleteHandler): Subscription {
    return super.subscribe(isolate(observerOrNext, error, complete, this.subjectName, this.report));
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    return new IsolatedObservable<R>(this, operator, this.subjectName, this.report);
  }
}

function isolate<T>(
  observerOrNext: TObserverOrNext<T>,
  error: TErrorHandler,
  complete: TCompleteHandler,
  subjectName: string,
  report: TSubscriberErrorReport,
): Partial<Observer<T>> {
  if (isSubscriber(observerOrNext)) return observerOrNext;
  const observer: Partial<Observer<T>> =
    typeof observerOrNext === 'function' || observerOrNext == null
      ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
      : observerOrNext;
  return new IsolatedObserver(observer, subjectName, report);
}

/** rxjs's own test (not exported by rxjs): a Subscriber, or something that is both observer and subscription. */
function isSubscriber(value: unknown): value is Subscriber<unknown> {
  if (value instanceof Subscriber) return true;
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.next === 'function' && typeof candidate.error === 'function' &&
    typeof candidate.complete === 'function' && (value instanceof Subscription ||
      ('closed' in candidate && typeof candidate.add === 'function' && typeof candidate.remove === 'function' &&
        typeof candidate.unsubscribe === 'function'));
}

/**
 * One subscriber's handlers behind a try/catch. rxjs wraps this in its own SafeSubscriber,
 * which never sees an error from it. Handlers are called as methods of the caller's
 * observer, so `this` in them is what it was.
 */
class IsolatedObserver<T> implements Observer<T> {
  private reported = false;

  constructor(
    private readonly observer: Partial<Observer<T>>,
    private readonly subjectName: string,
    private readonly report: TSubscriberErrorReport,
  ) {}

  next(value: T): void {
    try {
      const returned: unknown = this.observer.next?.(value);
      if (isThenable(returned)) returned.then(undefined, (thrown: unknown) => this.fail('next', value, thrown));
    } catch (thrown) {
      this.fail('next', value, thrown);
    }
  }

  error(error: unknown): void {
    if (this.observer.error === undefined) return this.fail('error', undefined, error);
    try {
      const returned: unknown = this.observer.error(error);
      if (isThenable(returned)) returned.then(undefined, (thrown: unknown) => this.fail('error', undefined, thrown));
    } catch (thrown) {
      this.fail('error', undefined, thrown);
    }
  }

  complete(): void {
    try {
      const returned: unknown = this.observer.complete?.();
      if (isThenable(returned)) returned.then(undefined, (thrown: unknown) => this.fail('complete', undefined, thrown));
    } catch (thrown) {
      this.fail('complete', undefined, thrown);
    }
  }

  // Once per subscriber: a subscriber that throws on every event would otherwise flood the
  // hook (and the log) at the rate events come.
  private fail(notification: TSubscriberNotification, value: unknown, thrown: unknown): void {
    if (this.reported) return;
    this.reported = true;
    try {
      this.report(new SubscriberError(this.subjectName, notification, value, thrown));
    } catch (hookError) {
      console.error(`taskbuffer: the subscriber error hook of ${this.subjectName} threw`, hookError, thrown);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}
