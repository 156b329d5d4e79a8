/**
 * The process-wide bounce classifier. `kumo.configure_bounce_classifier`
 * installs it once; every RecordBuilder and the SMTP client call `classify`.
 * Without one, everything is `Uncategorized`.
 */
import type { RecordResponse, RecordType } from '../records/types.ts';
import { BounceClassifier, BounceClassifierError, UNCATEGORIZED, type ClassifierOptions } from './classifier.ts';

export { BounceClassifier, BounceClassifierError, UNCATEGORIZED, responseSubject } from './classifier.ts';

let installed: BounceClassifier | null = null;

/** Types whose records carry a classification (lua-api-more §6.3); Delivery and others stay Uncategorized. */
export const CLASSIFIED_RECORD_TYPES: ReadonlySet<RecordType> = new Set<RecordType>([
  'Bounce', 'TransientFailure', 'Expiration', 'AdminBounce', 'OOB', 'Feedback', 'Rejection',
]);

export function configureBounceClassifier(options: ClassifierOptions): void {
  if (installed) throw new BounceClassifierError('classifier already initialized');
  installed = new BounceClassifier(options);
}

/** The category of a response (the SMTP client uses it for ambiguous RCPT replies). */
export function classify(response: Pick<RecordResponse, 'code' | 'enhanced_code' | 'content'>): string {
  return installed ? installed.classify(response) : UNCATEGORIZED;
}

/** The classification a log record of `type` gets. */
export function classifyRecord(type: RecordType, response: RecordResponse): string {
  return CLASSIFIED_RECORD_TYPES.has(type) ? classify(response) : UNCATEGORIZED;
}

/** Test support: forget the installed classifier. */
export function resetBounceClassifier(): void {
  installed = null;
}
