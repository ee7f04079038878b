// The JSON Patch the fake API server applies to a webhook's answer, checked against the examples of RFC 6902
// (Appendix A) and the JSON Pointer examples of RFC 6901 (section 5), which evanphx/json-patch also follows.

import { describe, expect, it } from 'vitest';
import {
  applyJsonPatch,
  JsonPatchError,
  type JsonValue,
} from '../../../lambda/emulators/fake-kube-api/json-patch';

describe('applyJsonPatch on the examples of RFC 6902 Appendix A', () => {
  it.each<[string, JsonValue, unknown, JsonValue]>([
    [
      'A.1 adds an object member',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux' }],
      { baz: 'qux', foo: 'bar' },
    ],
    [
      'A.2 adds an array element',
      { foo: ['bar', 'baz'] },
      [{ op: 'add', path: '/foo/1', value: 'qux' }],
      { foo: ['bar', 'qux', 'baz'] },
    ],
    [
      'A.3 removes an object member',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'remove', path: '/baz' }],
      { foo: 'bar' },
    ],
    [
      'A.4 removes an array element',
      { foo: ['bar', 'qux', 'baz'] },
      [{ op: 'remove', path: '/foo/1' }],
      { foo: ['bar', 'baz'] },
    ],
    [
      'A.5 replaces a value',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'replace', path: '/baz', value: 'boo' }],
      { baz: 'boo', foo: 'bar' },
    ],
    [
      'A.6 moves a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    [
      'A.7 moves an array element',
      { foo: ['all', 'grass', 'cows', 'eat'] },
      [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] },
    ],
    [
      'A.8 tests values successfully',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    [
      'A.10 adds a nested member object',
      { foo: 'bar' },
      [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      { foo: 'bar', child: { grandchild: {} } },
    ],
    [
      'A.11 ignores unrecognized elements',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }],
      { foo: 'bar', baz: 'qux' },
    ],
    [
      'A.14 unescapes ~01 as ~1, not /',
      { '/': 9, '~1': 10 },
      [{ op: 'test', path: '/~01', value: 10 }],
      { '/': 9, '~1': 10 },
    ],
    [
      'A.16 appends an array value with -',
      { foo: ['bar'] },
      [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      { foo: ['bar', ['abc', 'def']] },
    ],
    [
      '4.5 copies a value',
      { a: { b: 1 } },
      [{ op: 'copy', from: '/a', path: '/c' }],
      { a: { b: 1 }, c: { b: 1 } },
    ],
    [
      '4.1 replaces an existing member when adding it',
      { spec: { containers: [{ name: 'a' }] } },
      [{ op: 'add', path: '/spec/containers', value: [{ name: 'a', env: [] }] }],
      { spec: { containers: [{ name: 'a', env: [] }] } },
    ],
  ])('%s', (_case, document, patch, expected) => {
    const result = applyJsonPatch(document, patch);

    expect(result).toEqual(expected);
  });

  it.each<[string, JsonValue, unknown]>([
    ['A.9 fails a test of another value', { baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]],
    [
      'A.12 fails to add to a nonexistent target',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz/bat', value: 'qux' }],
    ],
    [
      'A.15 fails a test comparing a number with a string',
      { '/': 9, '~1': 10 },
      [{ op: 'test', path: '/~01', value: '10' }],
    ],
    ['4.2 fails to remove a missing member', { foo: 'bar' }, [{ op: 'remove', path: '/baz' }]],
    ['4.3 fails to replace a missing member', { foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 1 }]],
    [
      '4.4 fails to move a value into its own child',
      { a: { b: {} } },
      [{ op: 'move', from: '/a', path: '/a/b/c' }],
    ],
    ['4.1 fails to add past the end of an array', { foo: [] }, [{ op: 'add', path: '/foo/1', value: 1 }]],
    ['4 fails an unknown operation', { foo: 'bar' }, [{ op: 'merge', path: '/foo', value: 1 }]],
  ])('%s', (_case, document, patch) => {
    expect(() => applyJsonPatch(document, patch)).toThrow(JsonPatchError);
  });

  it('leaves the document it was given unchanged', () => {
    const document: JsonValue = { foo: ['bar'] };

    applyJsonPatch(document, [{ op: 'add', path: '/foo/-', value: 'baz' }]);

    expect(document).toEqual({ foo: ['bar'] });
  });
});

describe('JSON Pointers, on the examples of RFC 6901 section 5', () => {
  const document: JsonValue = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'c%d': 2,
    'e^f': 3,
    'g|h': 4,
    'i\\j': 5,
    'k"l': 6,
    ' ': 7,
    'm~n': 8,
  };

  it.each<[string, JsonValue]>([
    ['', document],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('resolves %j', (pointer, value) => {
    expect(() => applyJsonPatch(document, [{ op: 'test', path: pointer, value }])).not.toThrow();
  });
});
