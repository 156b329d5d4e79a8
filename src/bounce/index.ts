/**
 * The bounce classifier of the running policy. `kumo.configure_bounce_classifier`
 * builds it (once per policy context), gives it to that context's logging (the
 * RecordBuilder classifies records of the classifiable types) and installs it
 * here for `classify`, which the SMTP client calls for ambiguous RCPT replies.
 * Without one, everything is `Uncategorized`.
 */
import type { RecordResponse, RecordType } from '../records/types.ts';
import { type BounceClassifier, UNCATEGORIZED } from './classifier.ts';

export { BounceClassifier, BounceClassifierError, UNCATEGORIZED, responseSubject } from './classifier.ts';

let installed: BounceClassifier | null = null;

/** Types whose records carry a classification (lua-api-more §6.3); Delivery and others stay Uncategorized. */
export const CLASSIFIED_RECORD_TYPES: ReadonlySet<RecordType> = new Set<RecordType>([
  'Bounce', 'TransientFailure', 'Expiration', 'AdminBounce', 'OOB', 'Feedback', 'Rejection',
]);

/** Makes `classifier` the one `classify` consults (the latest configured policy wins). */
export function installBounceClassifier(classifier: BounceClassifier | null): void {
  installed = classifier;
}

/** The category of a response (the SMTP client uses it for ambiguous RCPT replies). */
export function classify(response: Pick<RecordResponse, 'code' | 'enhanced_code' | 'content'>): string {
  return installed ? installed.classify(response) : UNCATEGORIZED;
}

/** The classification a log record of `type` gets from `classifier` (default: the installed one). */
export function classifyRecord(type: RecordType, response: RecordResponse, classifier: BounceClassifier | null = installed): string {
  if (!classifier || !CLASSIFIED_RECORD_TYPES.has(type)) return UNCATEGORIZED;
  return classifier.classify(response);
}

