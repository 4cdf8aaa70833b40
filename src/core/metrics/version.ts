/**
 * Version of the scoring method, part of every score store key. Bump it whenever a change here can
 * change a stored number: a template or the reverse-prompt wording, span or boundary rules, a metric
 * formula. Selection rules and answer extraction are computed from stored losses, so they need not.
 */
export const METHOD_VERSION = 'sift-metrics-1';
