import { DEFAULT_PROCESSING_VISIBILITY_SECONDS, processingVisibilitySeconds } from '../../dev/host/localHost';

describe('LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS (how long the local host hides a message while a function runs)', () => {
  it('defaults to the real host’s 10 minutes', () => {
    expect(DEFAULT_PROCESSING_VISIBILITY_SECONDS).toBe(600);
    expect(processingVisibilitySeconds({})).toBe(600);
    expect(processingVisibilitySeconds({ LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS: '  ' })).toBe(600);
  });

  it('takes a whole number of seconds', () => {
    expect(processingVisibilitySeconds({ LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS: '15' })).toBe(15);
  });

  it.each(['0', '-5', '1.5', 'ten', '604801'])('refuses %j with a message naming the setting', (value) => {
    expect(() => processingVisibilitySeconds({ LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS: value })).toThrow(/LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS/u);
  });
});
