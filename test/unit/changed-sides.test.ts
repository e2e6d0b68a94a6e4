import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changedNodes, chooseChanged, describeChanged, type AgreementFacts, type ChangedChoice, type ChangedChoiceFacts } from '../../src/core/changed-sides.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const O: Md5 = '00000000000000000000000000000000'; // the version last agreed on
const O2: Md5 = '22222222222222222222222222222222'; // an agreement only one journal has (the other's save was lost)
const L: Md5 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; // alpha's copy, changed since
const R: Md5 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'; // beta's copy, changed since

// Seen from alpha, with its peer beta.
describe('changedNodes(self, peer, facts): which sides changed since the last agreement', () => {
  const cases: Case<AgreementFacts, string[] | null>[] = [
    { description: 'only the peer changed', given: { local: O, remote: R, agreed: O }, expect: ['beta'] },
    { description: 'only this node changed', given: { local: L, remote: O, agreed: O }, expect: ['alpha'] },
    { description: 'both changed: both named, in name order', given: { local: L, remote: R, agreed: O }, expect: ['alpha', 'beta'] },
    { description: 'no agreement on record on either side: null (the copies differed from the start)', given: { local: L, remote: R, agreed: null }, expect: null },
    { description: 'no agreement, the peer\'s record not said either: null', given: { local: L, remote: R, agreed: null, peerAgreed: null }, expect: null },
    { description: 'only the peer\'s journal has an agreement (ours was lost): it counts', given: { local: O, remote: R, agreed: null, peerAgreed: O }, expect: ['beta'] },
    { description: 'the two journals differ: a copy holding either agreed version did not change', given: { local: O2, remote: R, agreed: O, peerAgreed: O2 }, expect: ['beta'] },
    { description: 'each holds a version agreed at some time: neither changed', given: { local: O, remote: O2, agreed: O, peerAgreed: O2 }, expect: [] },
    { description: 'a copy deleted since the agreement counts as changed', given: { local: null, remote: O, agreed: O }, expect: ['alpha'] },
    { description: 'the peer\'s copy not known: only this node\'s side is said', given: { local: L, remote: undefined, agreed: O }, expect: ['alpha'] },
    { description: 'the peer\'s copy not known and ours unchanged: nobody named', given: { local: O, remote: undefined, agreed: O }, expect: [] },
  ];
  for (const c of cases) {
    test(c.description, () => assert.deepEqual(changedNodes('alpha', 'beta', c.given), c.expect));
  }
  test('the names are sorted whichever side this node is', () => {
    assert.deepEqual(changedNodes('beta', 'alpha', { local: L, remote: R, agreed: O }), ['alpha', 'beta']);
    assert.deepEqual(changedNodes('beta', 'alpha', { local: O, remote: R, agreed: O }), ['alpha']);
  });
});

describe('describeChanged(changed): the log lines\' words', () => {
  const cases: Case<string[] | null, RegExp>[] = [
    { description: 'one side', given: ['beta'], expect: /^only beta changed since the last agreement$/ },
    { description: 'both sides', given: ['alpha', 'beta'], expect: /^both alpha and beta changed since the last agreement$/ },
    { description: 'no agreement', given: null, expect: /no agreement on record: the copies differed from the start/ },
    { description: 'neither', given: [], expect: /^neither side changed/ },
  ];
  for (const c of cases) test(c.description, () => assert.match(describeChanged(c.given), c.expect));
});

// Seen from alpha, forcing with beta.
describe('chooseChanged(facts): force --changed for one file', () => {
  const base: ChangedChoiceFacts = { self: 'alpha', peer: 'beta', splitBrain: true, local: L, remote: R, unlisted: false, changed: ['beta'] };
  const cases: Case<Partial<ChangedChoiceFacts>, ChangedChoice>[] = [
    { description: 'split-brain, only the peer changed: pull (the peer\'s copy wins)', given: { changed: ['beta'] }, expect: { kind: 'pull' } },
    { description: 'split-brain, only this node changed: push (ours wins)', given: { changed: ['alpha'] }, expect: { kind: 'push' } },
    {
      description: 'split-brain, both changed: left alone with the reason',
      given: { changed: ['alpha', 'beta'] },
      expect: { kind: 'skip', reason: 'both alpha and beta changed since the last agreement' },
    },
    {
      description: 'split-brain with no agreement on record: left alone with the reason',
      given: { changed: null },
      expect: { kind: 'skip', reason: 'no agreement on record: the copies differed from the start' },
    },
    {
      description: 'split-brain where neither changed: left alone with the reason',
      given: { changed: [] },
      expect: { kind: 'skip', reason: 'neither side changed since an agreement (each holds a version agreed at some time)' },
    },
    { description: 'not in split-brain, the same copies: unchanged', given: { splitBrain: false, local: O, remote: O, changed: [] }, expect: { kind: 'unchanged' } },
    {
      description: 'not in split-brain, the copies differ (pending): left alone',
      given: { splitBrain: false, local: L, remote: O, changed: ['alpha'] },
      expect: { kind: 'skip', reason: 'not in split-brain with beta' },
    },
    {
      description: 'not in split-brain, absent on both sides: left alone, not unchanged',
      given: { splitBrain: false, local: null, remote: null, changed: null },
      expect: { kind: 'skip', reason: 'not in split-brain with beta' },
    },
    {
      description: 'the peer does not list the file: left alone',
      given: { splitBrain: false, unlisted: true, remote: null, changed: null },
      expect: { kind: 'skip', reason: 'beta does not list this file' },
    },
    {
      description: 'split-brain but the peer\'s copy is not known yet (its exchange is to come): left alone',
      given: { remote: undefined, changed: ['alpha'] },
      expect: { kind: 'skip', reason: 'beta\'s copy is not known yet' },
    },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(chooseChanged({ ...base, ...c.given }), c.expect));
});
