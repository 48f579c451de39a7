import { describe, expect, it } from 'vitest';
import { findCredentials, invoiceJsonFromForm, isFormEncoded, journalHeaders, redactParams } from '../../src/tabshop/legacy.js';

const src = (label: string, text: string) => ({ label, params: new URLSearchParams(text) });

describe('legacy helpers', () => {
  it.each([
    ['user=a&password=b', { name: 'a', pass: 'b' }],
    ['username=a&pwd=b', { name: 'a', pass: 'b' }],
    ['login=a&pass=b', { name: 'a', pass: 'b' }],
    ['user=a', { name: 'a', pass: '' }],
    ['pass=b', { name: '', pass: 'b' }],
    ['user=first&username=second&password=p', { name: 'first', pass: 'p' }],
  ])('finds credentials in %s', (text, expected) => {
    expect(findCredentials([src('URL parameters', text)])).toMatchObject({ ...expected, from: 'URL parameters' });
  });

  it('finds nothing when no accepted name is there', () => {
    expect(findCredentials([src('URL parameters', 'foo=1&name=x'), src('form fields', '')])).toBeNull();
  });

  it('combines the query and the form, the query first', () => {
    expect(findCredentials([src('URL parameters', 'user=q'), src('form fields', 'user=f&password=p')])).toEqual({
      name: 'q',
      pass: 'p',
      from: 'URL parameters and form fields',
    });
  });

  it('finds the invoice JSON in whichever form field holds {"invoices": [...]}', () => {
    const json = '{"invoices":[{"id":1}]}';
    const form = new URLSearchParams({ user: 'u', note: '{"x":1}', broken: '{nope', data: json }).toString();
    expect(invoiceJsonFromForm(form)).toBe(json);
    expect(invoiceJsonFromForm(new URLSearchParams({ data: '{"invoices":{}}' }).toString())).toBeNull();
    expect(invoiceJsonFromForm(json)).toBeNull();
    expect(invoiceJsonFromForm('')).toBeNull();
  });

  it('redacts credential values and keeps their names and every other parameter', () => {
    expect(redactParams('user=u&password=secret&x=1')).toBe('user=***&password=***&x=1');
    expect(redactParams('pwd=a&pwd=b')).toBe('pwd=***&pwd=***');
    // Any letter case (issue 18 item 7).
    expect(redactParams('PassWord=s1&PWD=s2&Pass=s3&x=1')).toBe('PassWord=***&PWD=***&Pass=***&x=1');
    expect(redactParams('a=b%20c')).toBe('a=b%20c');
  });

  it('journals headers without secrets', () => {
    expect(journalHeaders({ authorization: 'Basic x', cookie: 'c', 'user-agent': 'TabShop', accept: '*/*' })).toEqual({
      'user-agent': 'TabShop',
      accept: '*/*',
    });
  });

  it.each([
    ['application/x-www-form-urlencoded', true],
    ['application/x-www-form-urlencoded; charset=UTF-8', true],
    ['application/json', false],
    [undefined, false],
  ])('isFormEncoded(%s) = %s', (type, expected) => {
    expect(isFormEncoded(type)).toBe(expected);
  });
});
